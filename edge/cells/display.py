"""The node's view of its Braille cells: what they show, and a worker that shows it.

``show`` never blocks: the text goes to the cells' own worker thread (the driver waits
for the Pico's acknowledgement there). What is shown is remembered with the sentence that
says the same thing, so a routing key pressed by a patient makes the node speak it.

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

import queue
import threading

from edge.cells.driver import CellsDriver, KeyPress
from edge.devices.state import DeviceState
from edge.devices.worker import Driver, OutputWorker, StateCallback

READY_S = 3.0  # how long opening waits for the Pico's handshake


class CellsDisplay:
    """Latest text on the cells, shown by a worker that owns the driver."""

    def __init__(self, url: str, *, cells: int, on_state: StateCallback | None = None) -> None:
        self.keys: queue.Queue[KeyPress] = queue.Queue()
        self._lock = threading.Lock()
        self._text = ""
        self._spoken = ""
        self._cells = cells
        self._url = url
        self._worker = OutputWorker("cells", self._open, on_state=on_state)

    def _open(self) -> Driver:
        driver = CellsDriver(self._url, cells=self._cells, keys=self.keys)
        driver.wait_ready(READY_S)
        return driver

    def show(self, text: str, *, spoken: str = "") -> None:
        """Show ``text`` (cut to the cells' width); ``spoken`` is what a key press says."""
        with self._lock:
            if text == self._text:
                return
            self._text, self._spoken = text, spoken or text
        self._worker.submit(lambda d: d.show(text), label=f"cells {text!r}")

    @property
    def text(self) -> str:
        return self._text

    @property
    def spoken(self) -> str:
        return self._spoken

    def state(self) -> DeviceState:
        return self._worker.state()

    @property
    def worker(self) -> OutputWorker:
        """The thread that owns the driver (the self-test hands it jobs)."""
        return self._worker

    def drain(self, timeout_s: float = 10.0) -> bool:
        return self._worker.drain(timeout_s)

    def close(self) -> None:
        self._worker.close()
