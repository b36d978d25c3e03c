"""The self-test's own hold on the node's devices (``brexit selftest``, first boot).

``StandaloneRig`` opens every device itself, as the node would: the speech back-end on a
``SpeechWorker``, the buttons on a ``ButtonPanel`` (gpiozero: the platform's pins, or mock
pins in simulate mode), and the serial drivers, each opened for its check on the thread
that runs the self-test and closed afterwards. In simulate mode a ``finger`` presses each
button when asked for it, as a technician would.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from gpiozero.exc import GPIOZeroError

from edge.cells.driver import CellsDriver
from edge.closing import Closing
from edge.config import NodeConfig
from edge.devices.buttons import ButtonPanel
from edge.devices.debounce import ButtonEvent, ButtonEventKind
from edge.devices.embosser import Embosser
from edge.devices.printer import TicketPrinter
from edge.labels.buttons import ButtonLabel
from edge.node import Board, Hardware
from edge.selftest.devices import Press
from edge.speech.worker import Outcome, SpeechWorker

R = TypeVar("R")
CHANNEL = "selftest"
SPEECH_TIMEOUT_S = 60.0
Finger = Callable[[str], None]


class ButtonsUnavailable(Exception):
    """The GPIO pins cannot be opened (not a Raspberry Pi, or the node holds them)."""


class StandaloneRig(Closing):
    """Every device of one node, opened by the self-test."""

    def __init__(self, config: NodeConfig, hardware: Hardware, *,
                 finger: Finger | None = None) -> None:
        self.config = config
        self._hw = hardware
        self._finger = finger
        self._speech = SpeechWorker(hardware.speech, volume=config.speaker.volume).start()
        self._events: queue.Queue[ButtonEvent] = queue.Queue()
        self._panels: list[ButtonPanel] | None = None
        self._panel_error: str | None = None

    # --- speech ------------------------------------------------------------------------

    def say(self, text: str) -> bool:
        self._speech.say(text, channel=CHANNEL)
        if not self._speech.wait_idle(SPEECH_TIMEOUT_S):
            return False
        mine = [s for s in self._speech.spoken if s.utterance.channel == CHANNEL]
        return bool(mine) and mine[-1].outcome is Outcome.SPOKEN

    # --- buttons -------------------------------------------------------------------------

    def open_buttons(self, buttons: Iterable[ButtonLabel]) -> str | None:
        """Open the panels of the boards ``buttons`` sit on; the error, if they cannot be."""
        if self._panels is not None:
            return self._panel_error
        self._panels = []
        wanted: dict[str, list[str]] = {}
        for b in buttons:
            wanted.setdefault(b.board, []).append(b.button)
        try:
            for board_name, names in wanted.items():
                board = self._board(board_name)
                available = board.pins.buttons()
                pins = {n: available[n] for n in names}
                self._panels.append(ButtonPanel(pins, sink=self._events,
                                                pin_factory=board.pin_factory))
        except (GPIOZeroError, KeyError, OSError, ButtonsUnavailable) as e:
            self._panel_error = f"{type(e).__name__}: {e}"
        return self._panel_error

    def _board(self, name: str) -> Board:
        board = self._hw.kiosk if name == "kiosk" else self._hw.counter
        if board is None:
            raise ButtonsUnavailable(f"no {name} board")
        return board

    def wait_press(self, button: str, timeout_s: float) -> Press:
        self._drain()
        if self._finger is not None:
            finger = self._finger
            threading.Thread(target=finger, args=(button,), name="finger", daemon=True).start()
        deadline = time.monotonic() + timeout_s
        others: list[str] = []
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self._events.get(timeout=left)
            except queue.Empty:
                break
            if event.kind is not ButtonEventKind.PRESSED:
                continue
            if event.name == button:
                return Press(True, tuple(others))
            others.append(event.name)
        return Press(False, tuple(others))

    def _drain(self) -> None:
        while True:
            try:
                self._events.get_nowait()
            except queue.Empty:
                return

    # --- serial devices ------------------------------------------------------------------

    def with_printer(self, job: Callable[[TicketPrinter], R]) -> R | None:
        url, cfg = self._hw.printer_url, self.config.printer
        if url is None:
            return None
        with TicketPrinter(url, baudrate=cfg.baudrate, width_chars=cfg.width,
                           status_query=cfg.status_query) as printer:
            return job(printer)

    def with_embosser(self, job: Callable[[Embosser], R]) -> R | None:
        url, cfg = self._hw.embosser_url, self.config.embosser
        if url is None:
            return None
        with Embosser(url, width_cells=cfg.width, baudrate=cfg.baudrate,
                      status_query=cfg.status_query) as embosser:
            return job(embosser)

    def with_cells(self, job: Callable[[CellsDriver], R]) -> R | None:
        url = self._hw.cells_url
        if url is None:
            return None
        with CellsDriver(url, cells=self.config.cells.width) as driver:
            return job(driver)

    # --- life cycle ----------------------------------------------------------------------

    def close(self) -> None:
        for panel in self._panels or []:
            panel.close()
        self._speech.close()
