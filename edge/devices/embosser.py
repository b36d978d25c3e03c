"""Braille embosser driver: Braille ASCII over a serial line.

The byte protocol (docs/braille.md):
- a job is lines of North American Braille ASCII, each ended by CR LF, and the page ends
  with a form feed (0x0C); a document longer than a page is sent as several pages, each
  ended by a form feed;
- status query (optional, ``status_query=True``): before a job the driver sends ENQ (0x05)
  and the device answers one byte: ``R`` ready, ``P`` paper out, ``E`` other fault. No
  answer within ``timeout_s`` means the device is offline. Embossers that do not answer
  ENQ are driven with ``status_query=False``: then only a failed open or a write time-out
  is noticed.
- cancel: after a write failed part-way through a page, the first thing sent on the reopened
  port is CAN (0x18), "discard the unfinished page", so the next job does not run on from
  the fragment. Complete pages that reached the device before the failure are embossed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import NoReturn

import serial

from edge.braille.codec import text_to_ascii
from edge.braille.layout import ticket_lines, wrap
from edge.closing import Closing
from edge.devices.state import DeviceError, DeviceState
from edge.ticket import TicketView

ENQ = b"\x05"
CAN = b"\x18"
FORM_FEED = b"\x0c"
LINE_END = b"\r\n"
STATUS_READY = b"R"
STATUS_PAPER_OUT = b"P"
STATUS_FAULT = b"E"


def parse_status(reply: bytes) -> DeviceState:
    """The device state an ENQ answer means: ``parse_status(b"P") == PAPER_OUT``."""
    if reply == b"":
        return DeviceState.OFFLINE
    return {STATUS_READY: DeviceState.OK, STATUS_PAPER_OUT: DeviceState.PAPER_OUT}.get(
        reply[-1:], DeviceState.ERROR
    )


def fit_lines(lines: Iterable[str], width_cells: int) -> list[str]:
    """Text lines wrapped to the embosser's width; an empty line stays a blank line."""
    fitted: list[str] = []
    for line in lines:
        fitted += wrap(line, width_cells, break_long_words=True) or [""]
    return fitted


def page_bytes(lines: Sequence[str]) -> bytes:
    """One page: each text line as Braille ASCII with CR LF, then a form feed."""
    body = b"".join(text_to_ascii(line).encode("ascii") + LINE_END for line in lines)
    return body + FORM_FEED


def job_pages(lines: Sequence[str], width_cells: int, lines_per_page: int) -> list[bytes]:
    """The bytes of a document, page by page. Raises ValueError on untranslatable text."""
    fitted = fit_lines(lines, width_cells)
    pages = [fitted[i : i + lines_per_page] for i in range(0, len(fitted), lines_per_page)]
    return [page_bytes(page) for page in pages or [[]]]


class Embosser(Closing):
    """A Braille embosser on a serial line (or anything ``serial_for_url`` opens).

    Blocking; one thread owns it. The port opens on first use and reopens on the next job
    after an error.

    >>> with Embosser("/dev/ttyUSB0", width_cells=28) as embosser:  # doctest: +SKIP
    ...     embosser.emboss_lines(["Paracetamol 500 mg", "3 x 1 tablet"])
    ...     embosser.state()
    <DeviceState.OK: 'ok'>
    """

    def __init__(
        self,
        url: str,
        *,
        width_cells: int = 28,
        lines_per_page: int = 25,
        baudrate: int = 9600,
        timeout_s: float = 2.0,
        status_query: bool = True,
    ) -> None:
        self.url = url
        self.width_cells = width_cells
        self.lines_per_page = lines_per_page
        self.baudrate = baudrate
        self.timeout_s = timeout_s
        self.status_query = status_query
        self._port: serial.SerialBase | None = None
        self._state = DeviceState.OK
        self._unfinished_page = False  # a write failed mid-page: cancel it on reopening

    def emboss_ticket(self, ticket: TicketView) -> None:
        """Emboss a queue ticket (number, service, people ahead) on one page."""
        self.emboss_lines(ticket_lines(ticket, self.width_cells))

    def emboss_lines(self, lines: Sequence[str]) -> None:
        """Emboss text lines (wrapped to the width); raises DeviceError, or ValueError for
        text with no Braille, before anything is sent."""
        pages = job_pages(lines, self.width_cells, self.lines_per_page)
        port = self._ready_port()
        for page in pages:
            self._write(port, page)
        self._state = DeviceState.OK

    def state(self) -> DeviceState:
        """Probe the device (query its status if enabled) and report; never raises."""
        try:
            self._ready_port()
        except DeviceError as err:
            return err.state
        return self._state

    @property
    def port(self) -> serial.SerialBase | None:
        """The open serial port, if any (for diagnostics and tests; do not write to it)."""
        return self._port

    def close(self) -> None:
        if self._port is not None:
            port, self._port = self._port, None
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()


    # --- transport -----------------------------------------------------------------------

    def _ready_port(self) -> serial.SerialBase:
        port = self._open()
        if self._unfinished_page:
            self._write(port, CAN)
            self._unfinished_page = False
        if self.status_query:
            state = self._query(port)
            if state is not DeviceState.OK:
                self._fail(state, f"embosser reports {state.value}")
            self._state = DeviceState.OK
        return port

    def _open(self) -> serial.SerialBase:
        if self._port is None:
            try:
                self._port = serial.serial_for_url(
                    self.url,
                    baudrate=self.baudrate,
                    timeout=self.timeout_s,
                    write_timeout=self.timeout_s,
                )
                self._port.reset_input_buffer()
            except (serial.SerialException, OSError, ValueError) as err:
                self._fail(DeviceState.OFFLINE, f"cannot open embosser {self.url}: {err}")
        return self._port

    def _query(self, port: serial.SerialBase) -> DeviceState:
        try:
            port.reset_input_buffer()
            port.write(ENQ)
            return parse_status(port.read(1))
        except (serial.SerialException, OSError):  # includes a write time-out
            return DeviceState.OFFLINE

    def _write(self, port: serial.SerialBase, data: bytes) -> None:
        try:
            port.write(data)
        except serial.SerialTimeoutException:
            self._unfinished_page = True
            self._fail(DeviceState.OFFLINE, f"embosser {self.url}: write timed out")
        except (serial.SerialException, OSError) as err:
            self._unfinished_page = True
            self._fail(DeviceState.OFFLINE, f"embosser {self.url}: {err}")

    def _fail(self, state: DeviceState, message: str) -> NoReturn:
        """Remember the fault, drop the port (the next job reopens it) and raise."""
        self._state = state
        self.close()
        raise DeviceError(message, state)
