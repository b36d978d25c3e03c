"""An ESC/POS ticket printer on a pty: decodes what the driver sends, answers status queries.

It behaves like an Epson TM receipt printer as far as the driver can see: it answers
DLE EOT n at once (paper adequate, near end, end), prints text, sizes and native QR codes,
and ends a job at each cut. Fault switches: ``paper_out``, ``near_end``, ``offline``.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from edge.closing import Closing
from edge.devices.escpos_decode import (
    Align,
    Cut,
    Element,
    QrCode,
    StatusQuery,
    StreamDecoder,
    TextLine,
    Unknown,
)
from edge.devices.printer import PaperStatus
from edge.devices.ptyport import PtyPort

# DLE EOT n answers of an idle TM printer: n=1 printer, 2 offline cause, 3 error cause.
ONLINE, OFFLINE_BIT = 0x12, 0x08
PAPER_END_STOP_BIT = 0x20  # DLE EOT 2: printing stopped by paper end


@dataclass(frozen=True)
class PrintedJob:
    """One job as it came out of the printer (everything up to and including a cut).

    ``first_byte_at`` is ``time.monotonic()`` when its first byte other than a status query
    arrived. ``paper_was_out``: the job arrived while the paper was out (a real printer would
    not have printed it; a driver should not have sent it).
    """

    index: int
    elements: tuple[Element, ...]
    first_byte_at: float
    paper_was_out: bool = False

    @property
    def lines(self) -> tuple[TextLine, ...]:
        return tuple(e for e in self.elements if isinstance(e, TextLine))

    @property
    def text_lines(self) -> tuple[str, ...]:
        return tuple(line.text for line in self.lines)

    @property
    def qr_payloads(self) -> tuple[str, ...]:
        return tuple(e.payload for e in self.elements if isinstance(e, QrCode))

    @property
    def big_text(self) -> str | None:
        """The largest line printed larger than normal (the ticket number), first if tied."""
        big = [line for line in self.lines if line.big]
        return max(big, key=lambda line: line.width * line.height).text if big else None

    @property
    def unknown(self) -> tuple[Unknown, ...]:
        return tuple(e for e in self.elements if isinstance(e, Unknown))

    def render(self, width: int = 32) -> str:
        """A readable picture of the paper: aligned lines, ``[2x2]`` sizes, ``[QR: ...]``."""
        return "\n".join(filter(None, (_render(e, width) for e in self.elements))) + "\n"

    def file_name(self) -> str:
        name = re.sub(r"[^A-Za-z0-9-]+", "_", self.big_text or "job").strip("_") or "job"
        return f"{self.index:04d}-{name}.txt"


def _render(element: Element, width: int) -> str | None:
    if isinstance(element, TextLine):
        text = element.text
        if element.big:
            text = f"[{element.width}x{element.height}] {text}"
        if element.bold:
            text = f"**{text}**"
        if element.align is Align.CENTER:
            return text.center(width).rstrip()
        return text.rjust(width) if element.align is Align.RIGHT else text
    if isinstance(element, QrCode):
        return f"[QR: {element.payload}]"
    if isinstance(element, Cut):
        return "[CUT]"
    if isinstance(element, Unknown):
        return f"[UNKNOWN {element.data.hex(' ')}: {element.reason}]"
    return None  # Init, Feed, StatusQuery leave no mark worth reading


def status_answer(n: int, *, paper_out: bool, near_end: bool) -> int:
    """The byte an Epson TM printer sends for DLE EOT n.

    >>> hex(status_answer(4, paper_out=True, near_end=True))
    '0x7e'
    """
    if n == 1:  # printer status: offline while the paper is out
        return ONLINE | (OFFLINE_BIT if paper_out else 0)
    if n == 2:  # offline cause: bit 5 = printing stopped by paper end
        return ONLINE | (PAPER_END_STOP_BIT if paper_out else 0)
    if n == 3:  # error cause: none
        return ONLINE
    return PaperStatus(near_end=near_end or paper_out, end=paper_out).encode()


class PrinterEmulator(Closing):
    """A receipt printer behind a real pty; open ``emulator.path`` as the printer's port.

    >>> with PrinterEmulator() as emu:
    ...     import serial
    ...     with serial.serial_for_url(emu.path, timeout=1) as port:
    ...         _ = port.write(b"\\x10\\x04\\x04")
    ...         port.read(1)
    b'\\x12'
    """

    def __init__(self, out_dir: Path | None = None, *, width: int = 32) -> None:
        self.out_dir = out_dir
        self.width = width
        self.paper_out = False
        self.near_end = False
        self.status_prefix = b""  # fault switch: noise sent before every status answer
        self._decoder = StreamDecoder()
        self._rx_lock = threading.Lock()  # one chunk at a time through the decoder
        self._held = b""  # read by the pty thread while offline
        self._lock = threading.Condition()
        self._jobs: list[PrintedJob] = []
        self._queries: list[int] = []
        self._current: list[Element] = []
        self._first_byte_at: float | None = None
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
        self.port = PtyPort(self._receive, name="printer")
        self.path = self.port.path

    # --- fault switches ---------------------------------------------------------------------

    @property
    def offline(self) -> bool:
        return self.port.paused.is_set()

    @offline.setter
    def offline(self, value: bool) -> None:
        with self._rx_lock:
            if value:
                self.port.paused.set()
                return
            self.port.paused.clear()
            held, self._held = self._held, b""
            reply = self._process(held, time.monotonic()) if held else None
        if reply:
            self.port.send(reply)

    # --- what was printed -------------------------------------------------------------------

    @property
    def jobs(self) -> list[PrintedJob]:
        with self._lock:
            return list(self._jobs)

    @property
    def status_queries(self) -> list[int]:
        """Every DLE EOT n received, in order (the n of each)."""
        with self._lock:
            return list(self._queries)

    def wait_for_jobs(self, n: int, timeout: float) -> list[PrintedJob]:
        """Block until at least ``n`` jobs are out; raise TimeoutError if they are not."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._jobs) >= n, timeout):
                raise TimeoutError(f"{len(self._jobs)} of {n} printer jobs after {timeout} s")
            return list(self._jobs)

    # --- the device -------------------------------------------------------------------------

    def _receive(self, data: bytes) -> bytes | None:
        """Runs on the pty thread: decode, answer status queries, collect jobs.

        A chunk read just as the printer went offline waits, unread, until it is back.
        """
        with self._rx_lock:
            if self.offline:
                self._held += data
                return None
            return self._process(data, time.monotonic())

    def _process(self, data: bytes, now: float) -> bytes | None:
        replies = bytearray()
        for element in self._decoder.feed(data):
            if isinstance(element, StatusQuery):
                replies += self._answer(element.n)
            else:
                self._collect(element, now)
        return bytes(replies) or None

    def _answer(self, n: int) -> bytes:
        with self._lock:
            self._queries.append(n)
        answer = status_answer(n, paper_out=self.paper_out, near_end=self.near_end)
        return self.status_prefix + bytes([answer])

    def _collect(self, element: Element, now: float) -> None:
        if self._first_byte_at is None:
            self._first_byte_at = now
        self._current.append(element)
        if isinstance(element, Cut):
            self._finish_job()

    def _finish_job(self) -> None:
        """Only the decoding thread (under ``_rx_lock``) adds jobs; the file comes first."""
        job = PrintedJob(
            len(self._jobs) + 1,
            tuple(self._current),
            self._first_byte_at or 0.0,
            paper_was_out=self.paper_out,
        )
        self._current, self._first_byte_at = [], None
        if self.out_dir is not None:
            (self.out_dir / job.file_name()).write_text(job.render(self.width), encoding="utf-8")
        with self._lock:
            self._jobs.append(job)
            self._lock.notify_all()

    def close(self) -> None:
        self.port.close()

