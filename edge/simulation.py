"""A simulated puskesmas node: gpiozero mock pins and the devices' own emulators.

Everything the node does is real (queue database, speech audio, the drivers' bytes on
real ptys); only what cannot exist on this machine is emulated: GPIO pins
(``MockFactory``), and the embosser, printer and cells at the far end of their serial
lines, which decode what the drivers sent and save it under the data directory.

>>> # brexit node --simulate drives one of these from stdin; see edge/node_cli.py
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from edge.cells.emulate import EmulatedCells
from edge.closing import Closing
from edge.config import NodeConfig
from edge.devices.embosser_emulator import EmbosserEmulator
from edge.devices.printer_emulator import PrinterEmulator
from edge.node import Board, Hardware
from edge.pinmap import PinMap, default_pinmap_path
from edge.speech.backends import Pyttsx3Backend, SpeechBackend, WavBackend

PRESS_S = 0.08  # how long a simulated finger stays on a button
MAX_HOLD_S = 600.0  # the longest ``hold``: past any stuck-button timeout


class SimulationError(ValueError):
    """A control line names something the simulated node does not have."""


def parse_seconds(text: str) -> float:
    """How long ``hold NAME SECONDS`` holds: more than 0, at most ``MAX_HOLD_S``.

    >>> parse_seconds("2.5")
    2.5
    >>> parse_seconds("nan")
    Traceback (most recent call last):
    ...
    edge.simulation.SimulationError: hold: SECONDS must be more than 0 and at most 600, not nan
    """
    try:
        seconds = float(text)
    except ValueError:
        raise SimulationError(f"hold: SECONDS must be a number, not {text!r}") from None
    return check_seconds(seconds)


def check_seconds(seconds: float) -> float:
    if not 0 < seconds <= MAX_HOLD_S:  # also refuses nan
        raise SimulationError(
            f"hold: SECONDS must be more than 0 and at most {MAX_HOLD_S:g}, not {seconds:g}"
        )
    return seconds


class Simulation(Closing):
    """Owns the emulators and mock pins of one simulated node."""

    def __init__(self, config: NodeConfig, data_dir: Path, *, speak: bool = False) -> None:
        self.config = config
        self.data_dir = data_dir
        for sub in ("embossed", "printed", "speech"):
            (data_dir / sub).mkdir(parents=True, exist_ok=True)
        pinmap = config.pinmap or default_pinmap_path()
        wired = {"kiosk": "kiosk", "pharmacy": "kiosk", "caller": "counter"}  # role -> board
        self.boards = {
            board: Board(PinMap.load(pinmap, board), MockFactory())
            for board in dict.fromkeys(b for r, b in wired.items() if r in config.roles)
        }
        self.embosser = (
            EmbosserEmulator(data_dir / "embossed", width_cells=config.embosser.width)
            if config.embosser.enabled else None
        )
        self.printer = (
            PrinterEmulator(data_dir / "printed", width=config.printer.width)
            if config.printer.enabled else None
        )
        self.speech: SpeechBackend = (
            Pyttsx3Backend(config.speaker.voice, config.speaker.rate) if speak
            else WavBackend(data_dir / "speech", voice=config.speaker.voice,
                            rate=config.speaker.rate)
        )
        self.cells = EmulatedCells(config.cells.width) if config.cells.enabled else None

    def hardware(self, *, on_tone: Callable[[float], None] | None = None) -> Hardware:
        return Hardware(
            speech=self.speech,
            kiosk=self.boards.get("kiosk"),
            counter=self.boards.get("counter"),
            embosser_url=self.embosser.path if self.embosser else None,
            printer_url=self.printer.path if self.printer else None,
            cells_url=self.cells.path if self.cells else None,
            on_tone=on_tone,
        )

    # --- the simulated finger ---------------------------------------------------------

    def resolve(self, name: str) -> tuple[Board, int]:
        """The board and GPIO of a control-line NAME: a service code or a button name."""
        button = name
        if len(name) == 1 and name.isalpha():
            try:
                button = self.config.service(name.upper()).button
            except KeyError:
                raise SimulationError(f"no service {name!r}") from None
        for board in self.boards.values():
            if button in board.pins.buttons():
                return board, board.pins.gpio(button)
        raise SimulationError(f"no button {name!r}")

    def press(self, name: str, seconds: float = PRESS_S) -> None:
        """Hold the button down ``seconds``, let go, and stay off it until the release
        is confirmed (the debounce time), so the next press is a press of its own."""
        check_seconds(seconds)
        board, gpio = self.resolve(name)
        assert isinstance(board.pin_factory, MockFactory)
        pin = board.pin_factory.pin(gpio)
        pin.drive_low()
        try:
            time.sleep(seconds)
        finally:
            pin.drive_high()
        time.sleep(self.config.buttons.debounce_s)

    def press_key(self, text: str) -> None:
        """``key N``: press routing key N (0-based) of the emulated cells."""
        if self.cells is None:
            raise SimulationError("this node has no Braille cells")
        try:
            key = int(text)
        except ValueError:
            raise SimulationError(f"key: N must be a whole number, not {text!r}") from None
        self.cells.press(key)

    # --- life cycle -------------------------------------------------------------------

    def close(self) -> None:
        for emulator in (self.embosser, self.printer, self.cells):
            if emulator is not None:
                emulator.close()
        for board in self.boards.values():
            if board.pin_factory is not None:
                board.pin_factory.close()

