"""The ink ticket printer: an ESC/POS thermal printer (Epson TM-style) on a serial line.

A plain blocking driver: the node's printer worker thread owns it and calls its methods.
Before each job it asks the printer for its paper sensor (DLE EOT 4) and refuses to print on
paper end or when the printer does not answer; after any failure it reopens the port on the
next job, so unplugging and replugging the printer needs no restart.
"""

from __future__ import annotations

import contextlib
import termios
import time
from collections.abc import Iterable
from dataclasses import dataclass

import serial

from edge.closing import Closing
from edge.devices.printer_layout import lines_bytes, ticket_bytes
from edge.devices.state import DeviceError, DeviceState
from edge.ticket import TicketView

PAPER_STATUS_QUERY = b"\x10\x04\x04"  # DLE EOT 4: roll paper sensor status
# What a vanished or broken port raises (tcflush on an unplugged tty raises termios.error).
PORT_ERRORS = (serial.SerialException, OSError, termios.error)


@dataclass(frozen=True)
class PaperStatus:
    """The answer to DLE EOT 4, one byte with fixed bits 0x12 under mask 0x93.

    >>> PaperStatus.parse(0x72)
    PaperStatus(near_end=False, end=True)
    >>> PaperStatus.parse(0x41) is None  # not a status byte
    True
    """

    near_end: bool
    end: bool

    FIXED_MASK = 0x93
    FIXED_BITS = 0x12
    NEAR_END_BITS = 0x0C
    END_BITS = 0x60

    @classmethod
    def parse(cls, byte: int) -> PaperStatus | None:
        if byte & cls.FIXED_MASK != cls.FIXED_BITS:
            return None
        return cls(near_end=bool(byte & cls.NEAR_END_BITS), end=bool(byte & cls.END_BITS))

    def encode(self) -> int:
        near_end = self.NEAR_END_BITS if self.near_end else 0
        return self.FIXED_BITS | near_end | (self.END_BITS if self.end else 0)


def first_status(data: bytes) -> PaperStatus | None:
    """The first byte of ``data`` that is a well-formed status answer; other bytes are noise."""
    for byte in data:
        status = PaperStatus.parse(byte)
        if status is not None:
            return status
    return None


class TicketPrinter(Closing):
    """Prints queue tickets and plain documents on an ESC/POS printer.

    >>> from edge.devices.printer_emulator import PrinterEmulator
    >>> with PrinterEmulator() as emu, TicketPrinter(emu.path, timeout_s=1) as printer:
    ...     printer.print_text_lines(["Tes printer"], title="Uji")
    ...     emu.wait_for_jobs(1, timeout=5)[0].text_lines
    ('Uji', 'Tes printer')
    """

    def __init__(
        self,
        url: str,
        *,
        baudrate: int = 9600,
        timeout_s: float = 2.0,
        width_chars: int = 32,
        status_query: bool = True,
    ) -> None:
        self._url = url
        self._baudrate = baudrate
        self._timeout_s = timeout_s
        self._width = width_chars
        self._status_query = status_query
        self._port: serial.SerialBase | None = None
        self._state = DeviceState.OK
        self._near_end = False
        self._closed = False
        with contextlib.suppress(DeviceError):  # reported by state(); the next job retries
            self._open()

    # --- public ---------------------------------------------------------------------------

    def print_ticket(self, ticket: TicketView) -> None:
        """Print one queue ticket; raises DeviceError (PAPER_OUT, OFFLINE) and prints nothing."""
        self._job(ticket_bytes(ticket, self._width))

    def print_text_lines(self, lines: Iterable[str], *, title: str | None = None) -> None:
        """Print a plain document: an optional bold title, then the lines, wrapped."""
        self._job(lines_bytes(lines, title, self._width))

    def print_job(self, data: bytes) -> None:
        """Print a job made elsewhere (a medicine label: ``edge.pharmacy.ink``), with the
        same paper check; raises DeviceError and prints nothing."""
        self._job(data)

    def state(self) -> DeviceState:
        """What the last job or check found (no I/O)."""
        return self._state

    @property
    def paper_near_end(self) -> bool:
        """The roll is running low (still prints): worth telling the staff."""
        return self._near_end

    def check(self) -> DeviceState:
        """Ask the printer now (for periodic health) and return the state; never raises."""
        try:
            port = self._ensure_open()
            if self._status_query:
                self._check_paper(port)
            self._state = DeviceState.OK
        except DeviceError as err:
            self._fail(err)
        return self._state

    def close(self) -> None:
        self._closed = True
        self._drop_port()


    # --- one job ----------------------------------------------------------------------------

    def _job(self, data: bytes) -> None:
        try:
            port = self._ensure_open()
            if self._status_query:
                self._check_paper(port)
            self._write(port, data)
        except DeviceError as err:
            self._fail(err)
            raise
        self._state = DeviceState.OK

    def _fail(self, err: DeviceError) -> None:
        self._state = err.state
        self._drop_port()  # unplug/replug: start afresh on the next job

    def _check_paper(self, port: serial.SerialBase) -> None:
        status = self._query_paper(port)
        self._near_end = status.near_end
        if status.end:
            raise DeviceError("printer: paper end", DeviceState.PAPER_OUT)

    def _query_paper(self, port: serial.SerialBase) -> PaperStatus:
        try:
            port.reset_input_buffer()  # drop stale answers and noise
            self._write(port, PAPER_STATUS_QUERY)
            return self._read_status(port)
        except PORT_ERRORS as err:
            raise DeviceError(f"printer: status query failed: {err}", DeviceState.OFFLINE) from err

    def _read_status(self, port: serial.SerialBase) -> PaperStatus:
        deadline = time.monotonic() + self._timeout_s
        while (remaining := deadline - time.monotonic()) > 0:
            port.timeout = remaining
            status = first_status(port.read(1))
            if status is not None:
                return status
        raise DeviceError("printer: no answer to status query", DeviceState.OFFLINE)

    def _write(self, port: serial.SerialBase, data: bytes) -> None:
        try:
            port.write(data)
        except PORT_ERRORS as err:  # SerialTimeoutException included
            raise DeviceError(f"printer: write failed: {err}", DeviceState.OFFLINE) from err

    # --- the port ---------------------------------------------------------------------------

    def _ensure_open(self) -> serial.SerialBase:
        if self._closed:
            raise DeviceError("printer: closed", DeviceState.DISABLED)
        return self._port or self._open()

    def _open(self) -> serial.SerialBase:
        try:
            self._port = serial.serial_for_url(
                self._url,
                baudrate=self._baudrate,
                timeout=self._timeout_s,
                write_timeout=self._timeout_s,
            )
        except (*PORT_ERRORS, ValueError) as err:
            self._state = DeviceState.OFFLINE
            raise DeviceError(f"printer: cannot open {self._url}: {err}",
                              DeviceState.OFFLINE) from err
        return self._port

    def _drop_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(*PORT_ERRORS):
                port.close()
