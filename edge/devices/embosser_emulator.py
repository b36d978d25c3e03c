"""An emulated Braille embosser on a real pty: reads the driver's bytes back into jobs.

It speaks the protocol of ``edge.devices.embosser``: answers ENQ with a status byte and
cuts the stream into jobs at each form feed, back-translating every line to text, and
discards an unfinished page on CAN.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from edge.braille.codec import BrailleError, ascii_to_text
from edge.closing import Closing
from edge.devices.embosser import (
    CAN,
    ENQ,
    FORM_FEED,
    LINE_END,
    STATUS_PAPER_OUT,
    STATUS_READY,
)
from edge.devices.ptyport import PtyPort

_TICKET_NUMBER = re.compile(r"\b[A-Z]{1,3}-[0-9]+\b")


@dataclass(frozen=True)
class EmbossedJob:
    """One page as the embosser received it, and what it says.

    >>> job = parse_job(1, b",A-#JJG\\r\\n,POLI ,UMUM\\r\\n", 0.0, width_cells=28)
    >>> job.text, job.number, job.errors
    (('A-007', 'Poli Umum'), 'A-007', ())
    """

    index: int  # arrival order, from 1
    lines: tuple[str, ...]  # Braille ASCII, one per line, as received
    text: tuple[str, ...]  # back-translated lines ("" where a line could not be read)
    raw: bytes  # the bytes as received, form feed included
    first_byte_at: float  # time.monotonic() of the job's first byte
    errors: tuple[str, ...] = ()

    @property
    def number(self) -> str | None:
        """The ticket number found in the text, if any: "A-007"."""
        match = _TICKET_NUMBER.search("\n".join(self.text))
        return match.group() if match else None

    def brf_name(self) -> str:
        suffix = f"-{self.number}" if self.number else ""
        return f"{self.index:04d}{suffix}.brf"


def parse_job(index: int, body: bytes, first_byte_at: float, *, width_cells: int) -> EmbossedJob:
    """Decode the bytes of one job (without its form feed) into lines, text and errors."""
    lines = body.decode("latin-1").split(LINE_END.decode())
    errors: list[str] = []
    if lines[-1] == "":
        lines.pop()
    else:
        errors.append(f"line {len(lines)} not ended by CR LF")
    texts: list[str] = []
    for number, line in enumerate(lines, start=1):
        text, line_errors = _read_line(number, line, width_cells)
        texts.append(text)
        errors += line_errors
    raw = body + FORM_FEED
    return EmbossedJob(index, tuple(lines), tuple(texts), raw, first_byte_at, tuple(errors))


def _read_line(number: int, line: str, width_cells: int) -> tuple[str, list[str]]:
    errors = []
    if len(line) > width_cells:
        errors.append(f"line {number} has {len(line)} cells, more than {width_cells}")
    try:
        return ascii_to_text(line), errors
    except BrailleError as err:
        return "", [*errors, f"line {number}: {err}"]


class EmbosserEmulator(Closing):
    """A Braille embosser at the end of a pty; ``path`` is what the driver opens.

    Fault switches: ``paper_out`` (answer ENQ with paper out), ``offline`` (stop reading,
    so the driver's query goes unanswered and its writes eventually time out).

    >>> with EmbosserEmulator() as device:  # doctest: +SKIP
    ...     Embosser(device.path).emboss_lines(["Nomor A-007"])
    ...     device.wait_for_jobs(1)[0].text
    ('Nomor A-007',)
    """

    def __init__(self, out_dir: Path | None = None, *, width_cells: int = 28) -> None:
        self.out_dir = out_dir
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
        self.width_cells = width_cells
        self.paper_out = False
        self.enquiries = 0  # ENQ bytes answered
        self.cancelled: list[bytes] = []  # unfinished pages discarded by CAN
        self._offline = False
        self._held = b""  # bytes that arrived while offline, read once back online
        self._body = bytearray()
        self._first_byte_at = 0.0
        self._jobs: list[EmbossedJob] = []
        self._changed = threading.Condition()
        self._port = PtyPort(self._receive, name="embosser")
        self.path = self._port.path

    @property
    def jobs(self) -> list[EmbossedJob]:
        with self._changed:
            return list(self._jobs)

    @property
    def offline(self) -> bool:
        return self._offline

    @offline.setter
    def offline(self, value: bool) -> None:
        with self._changed:
            self._offline = value
            if value:
                self._port.paused.set()
                return
            held, self._held = self._held, b""
            self._port.paused.clear()
            reply = self._handle(held)
        if reply:
            self._port.send(reply)

    def wait_for_jobs(self, n: int, timeout: float = 5.0) -> list[EmbossedJob]:
        """Block until at least ``n`` jobs have arrived; raises TimeoutError otherwise."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._jobs) >= n, timeout):
                raise TimeoutError(f"{len(self._jobs)} of {n} embosser jobs arrived")
            return list(self._jobs)

    def close(self) -> None:
        self._port.close()


    # --- the device ----------------------------------------------------------------------

    def _receive(self, data: bytes) -> bytes | None:
        """PtyPort handler: runs on the emulator thread for every chunk read."""
        with self._changed:
            if self._offline:  # read in the instant before the pause took hold
                self._held += data
                return None
            return self._handle(data)

    def _handle(self, data: bytes) -> bytes:
        """Process bytes under the lock; returns the status answers to send back."""
        replies = bytearray()
        now = time.monotonic()
        for byte in data:
            if byte == ENQ[0]:
                self.enquiries += 1
                replies += STATUS_PAPER_OUT if self.paper_out else STATUS_READY
            elif byte == FORM_FEED[0]:
                self._finish_job()
            elif byte == CAN[0]:
                self.cancelled.append(bytes(self._body))
                self._body.clear()
            else:
                if not self._body:
                    self._first_byte_at = now
                self._body.append(byte)
        return bytes(replies)

    def _finish_job(self) -> None:
        job = parse_job(
            len(self._jobs) + 1,
            bytes(self._body),
            self._first_byte_at if self._body else time.monotonic(),
            width_cells=self.width_cells,
        )
        if self.paper_out:
            job = replace(job, errors=(*job.errors, "received while out of paper"))
        self._body.clear()
        self._jobs.append(job)
        if self.out_dir is not None:
            (self.out_dir / job.brf_name()).write_bytes(job.raw)
        self._changed.notify_all()
