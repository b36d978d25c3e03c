"""The node's view of its Braille cells: what they show, and a worker that shows it.

``show`` never blocks: the text goes to the cells' own worker thread (the driver waits
for the Pico's acknowledgement there). What is shown is remembered with the sentence that
says the same thing, so a routing key pressed by a patient makes the node speak it.

Text longer than the cells is shown in pages (``edge.cells.pages``): the last routing key
shows the next page (after the last, the first again); the other keys speak the whole text.

A staff message (``show_message``) stays until it is replaced or cleared, or for
``message_s`` seconds when that is set: the kiosk's idle refresh (``show``) does not
overwrite it, and what ``show`` asked for meanwhile is shown when the message goes.

>>> from edge.cells.emulate import EmulatedCells
>>> with EmulatedCells(cells=8) as emu:
...     display = CellsDisplay(emu.path, cells=8)
...     display.show("A-001", spoken="Nomor antrean A satu.")
...     _ = display.drain()
...     display.close()
...     emu.dots()[:2]
(32, 1)
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from dataclasses import dataclass

from edge.braille.codec import Cells
from edge.cells.driver import CellsDriver, KeyPress
from edge.cells.pages import pages
from edge.devices.state import DeviceState
from edge.devices.worker import Driver, OutputWorker, StateCallback, WorkerClosed

log = logging.getLogger(__name__)
READY_S = 3.0  # how long opening waits for the Pico's handshake


@dataclass(frozen=True)
class Shown:
    """One text on the cells: its pages and which of them is up."""

    text: str = ""
    spoken: str = ""
    pages: tuple[Cells, ...] = ((),)
    page: int = 0


class CellsDisplay:
    """Latest text on the cells, shown by a worker that owns the driver."""

    def __init__(
        self, url: str, *, cells: int, on_state: StateCallback | None = None,
        message_s: float = 0.0,
    ) -> None:
        self.keys: queue.Queue[KeyPress] = queue.Queue()
        self._lock = threading.Lock()
        self._shown = Shown()
        self._wanted = ("", "")  # what ``show`` last asked for: (text, spoken)
        self._message: str | None = None
        self._timer: threading.Timer | None = None
        self._message_s = message_s
        self._cells = cells
        self._url = url
        self._worker = OutputWorker("cells", self._open, on_state=on_state)

    def _open(self) -> Driver:
        driver = CellsDriver(self._url, cells=self._cells, keys=self.keys)
        driver.wait_ready(READY_S)
        return driver

    def show(self, text: str, *, spoken: str = "") -> None:
        """Show ``text`` (in pages if it is longer than the cells); ``spoken`` is what a
        key press says. Waits, unseen, while a staff message is up."""
        with self._lock:
            self._wanted = (text, spoken or text)
            if self._message is None:
                self._put(text, spoken or text)

    def show_message(self, text: str) -> int:
        """A staff message; empty text clears it. Returns how many pages it takes; raises
        BrailleError (a ValueError) at once for text the cells cannot write."""
        count = len(pages(text, self._cells))
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if not text.strip():
                self._message = None
                self._put(*self._wanted)
                return count
            self._message = text
            self._put(text, text)
            if self._message_s > 0:
                self._timer = threading.Timer(self._message_s, self._expire, args=(text,))
                self._timer.daemon = True
                self._timer.start()
        return count

    def pan(self, key: int) -> bool:
        """The routing key ``key`` was pressed: the last one shows the next page of a text
        with several. True if it did (then nothing is to be spoken)."""
        with self._lock:
            shown = self._shown
            if key != self._cells - 1 or len(shown.pages) < 2:
                return False
            self._shown = Shown(shown.text, shown.spoken, shown.pages,
                                (shown.page + 1) % len(shown.pages))
            self._submit()
        return True

    @property
    def message(self) -> str | None:
        return self._message

    @property
    def text(self) -> str:
        return self._shown.text

    @property
    def spoken(self) -> str:
        return self._shown.spoken

    @property
    def page(self) -> tuple[int, int]:
        """(page shown, counted from 1; pages)."""
        shown = self._shown
        return shown.page + 1, len(shown.pages)

    def state(self) -> DeviceState:
        return self._worker.state()

    @property
    def worker(self) -> OutputWorker:
        """The thread that owns the driver (the self-test hands it jobs)."""
        return self._worker

    def drain(self, timeout_s: float = 10.0) -> bool:
        return self._worker.drain(timeout_s)

    def close(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
        self._worker.close()

    # --- with the lock held ---------------------------------------------------------

    def _put(self, text: str, spoken: str) -> None:
        if text == self._shown.text:
            self._shown = Shown(text, spoken, self._shown.pages, self._shown.page)
            return
        try:
            cut = pages(text, self._cells)
        except ValueError as err:  # not from staff (checked): a bug, but never a crash
            log.error("cells cannot show %r: %s", text, err)
            return
        if len(cut) > 1:
            log.info("cells: %r needs %d pages of %d cells; the last key pans",
                     text, len(cut), self._cells)
        self._shown = Shown(text, spoken, cut, 0)
        self._submit()

    def _submit(self) -> None:
        shown = self._shown
        masks = shown.pages[shown.page]
        label = f"cells {shown.text!r} page {shown.page + 1}/{len(shown.pages)}"
        with contextlib.suppress(WorkerClosed):  # the worker reported itself offline
            self._worker.submit(lambda d: d.show_masks(masks), label=label)

    def _expire(self, text: str) -> None:
        with self._lock:
            if self._message == text:
                self._message = None
                self._timer = None
                self._put(*self._wanted)
