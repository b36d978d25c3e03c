"""A fake MicroPython ``machine`` module bound to one simulated Pico board.

The firmware receives ``FakeMachine(board)`` where a Pico passes ``machine``. The board
records every pin level; ``CellChain`` decodes the DIN/CLK/STROBE edges back into the
dots latched in each cell, exactly as the cells' shift registers would.

>>> board = Board()
>>> m = FakeMachine(board)
>>> led = m.Pin(25, m.Pin.OUT, value=0)
>>> led.value(1); board.level(25)
1
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

PWRON_RESET = 1
WDT_RESET = 3
ADC_PINS = {26: 0, 27: 1, 28: 2}


class SystemReset(BaseException):
    """Raised in the firmware's thread when the board resets (the fake's CPU stops)."""


class Board:
    """Pin levels, external drives, the HV supply's behaviour, the watchdog's record.

    ``hv_volts`` is what the HV module produces when enabled (set to 0 to simulate a dead
    supply); ``resets`` lists every reset cause since power-on.
    """

    def __init__(
        self, *, hv_en_pin: int = 5, hv_volts: float = 190.0, hv_divider: float = 67.67
    ) -> None:
        self._lock = threading.RLock()
        self._levels: dict[int, int] = {}
        self._pulls: dict[int, int] = {}
        self._drive: dict[int, int] = {}
        self._listeners: list[Callable[[int, int], None]] = []
        self.hv_en_pin = hv_en_pin
        self.hv_volts = hv_volts
        self.hv_divider = hv_divider
        self.reset_cause = PWRON_RESET
        self.resets: list[int] = []
        self._wdt_timeout_s: float | None = None
        self._wdt_fed = 0.0

    def listen(self, callback: Callable[[int, int], None]) -> None:
        """``callback(pin, level)`` on every output change, on the firmware's thread."""
        self._listeners.append(callback)

    def level(self, pin: int) -> int:
        with self._lock:
            if pin in self._drive:
                return self._drive[pin]
            return self._levels.get(pin, self._pulls.get(pin, 0))

    def drive(self, pin: int, level: int | None) -> None:
        """Drive an input from outside (a key), or release it with None."""
        with self._lock:
            if level is None:
                self._drive.pop(pin, None)
            else:
                self._drive[pin] = level

    def output(self, pin: int, level: int) -> None:
        with self._lock:
            if self._levels.get(pin) == level:
                return
            self._levels[pin] = level
        for callback in self._listeners:
            callback(pin, level)

    def set_pull(self, pin: int, pull: int) -> None:
        with self._lock:
            self._pulls[pin] = pull
            self._levels.pop(pin, None)

    def hv_output(self) -> float:
        return self.hv_volts if self.level(self.hv_en_pin) else 0.0

    def arm_watchdog(self, timeout_ms: int) -> None:
        self._wdt_timeout_s = timeout_ms / 1000
        self._wdt_fed = time.monotonic()

    def feed_watchdog(self) -> None:
        self.check_watchdog()
        self._wdt_fed = time.monotonic()

    def check_watchdog(self) -> None:
        """Reset the board if the watchdog was not fed in time (raises SystemReset)."""
        timeout = self._wdt_timeout_s
        if timeout is not None and time.monotonic() - self._wdt_fed > timeout:
            self.reset(WDT_RESET)

    def reset(self, cause: int) -> None:
        """What an RP2040 reset does: outputs released (pull-downs win), CPU restarts."""
        with self._lock:
            self.resets.append(cause)
            self.reset_cause = cause
            self._wdt_timeout_s = None
            released = [pin for pin, level in self._levels.items() if level]
            self._levels.clear()
        for pin in released:
            for callback in self._listeners:
                callback(pin, 0)
        raise SystemReset(cause)


class _Pin:
    IN = 0
    OUT = 1
    PULL_UP = 1
    PULL_DOWN = 2

    def __init__(
        self, board: Board, pin: int, mode: int = -1, pull: int = -1, *, value: int | None = None
    ) -> None:
        self._board = board
        self.id = pin
        if pull == self.PULL_UP:
            board.set_pull(pin, 1)
        elif pull == self.PULL_DOWN:
            board.set_pull(pin, 0)
        if mode == self.OUT:
            board.output(pin, value or 0)

    def value(self, level: int | None = None) -> int | None:
        if level is None:
            return self._board.level(self.id)
        self._board.output(self.id, 1 if level else 0)
        return None

    def on(self) -> None:
        self.value(1)

    def off(self) -> None:
        self.value(0)


class _ADC:
    def __init__(self, board: Board, source: int | _Pin) -> None:
        self._board = board
        pin = source.id if isinstance(source, _Pin) else source
        if pin not in ADC_PINS:
            raise ValueError(f"GP{pin} has no ADC")

    def read_u16(self) -> int:
        volts = self._board.hv_output() / self._board.hv_divider
        return max(0, min(65535, round(volts / 3.3 * 65535)))


class _WDT:
    def __init__(self, board: Board, id: int = 0, timeout: int = 5000) -> None:
        if not 1 <= timeout <= 8388:
            raise ValueError("RP2040 watchdog timeout is 1..8388 ms")
        self._board = board
        board.arm_watchdog(timeout)

    def feed(self) -> None:
        self._board.feed_watchdog()


class FakeMachine:
    """The subset of MicroPython's ``machine`` the firmware uses, wired to ``board``."""

    PWRON_RESET = PWRON_RESET
    WDT_RESET = WDT_RESET

    def __init__(self, board: Board) -> None:
        self.board = board
        machine = self

        class Pin(_Pin):
            def __init__(self, pin: int, mode: int = -1, pull: int = -1, **kw: int) -> None:
                super().__init__(machine.board, pin, mode, pull, value=kw.get("value"))

        self.Pin = Pin

    def ADC(self, source: int | _Pin) -> _ADC:
        return _ADC(self.board, source)

    def WDT(self, id: int = 0, timeout: int = 5000) -> _WDT:
        return _WDT(self.board, id, timeout)

    def reset_cause(self) -> int:
        return self.board.reset_cause

    def reset(self) -> None:
        self.board.reset(PWRON_RESET)


@dataclass(frozen=True)
class Latch:
    """One STROBE: the dot masks now held by the cells, and whether HV was on."""

    masks: tuple[int, ...]
    hv_on: bool


class CellChain:
    """Decodes DIN/CLK/STROBE edges into latched cells, as the cells' registers do.

    Bit for bit: on each CLK rising edge DIN enters stage 0 and every stage moves one on;
    stage ``8*c + k`` is dot ``k+1`` of cell ``c``; a 0 raises the dot. On STROBE rising the
    chain is latched and ``on_latch(Latch)`` is called.
    """

    def __init__(
        self,
        board: Board,
        cells: int,
        *,
        din: int = 2,
        clk: int = 3,
        strobe: int = 4,
        on_latch: Callable[[Latch], None] | None = None,
    ) -> None:
        self._board = board
        self._pins = (din, clk, strobe)
        self._stages = [1] * (8 * cells)
        self.cells = cells
        self.latched = Latch(tuple([0] * cells), False)
        self._on_latch = on_latch
        self.changed = threading.Condition()
        board.listen(self._edge)

    def dots(self) -> tuple[int, ...]:
        """The dots standing now: the latched masks while HV is on, else none."""
        if self._board.level(self._board.hv_en_pin):
            return self.latched.masks
        return tuple([0] * self.cells)

    def _edge(self, pin: int, level: int) -> None:
        din, clk, strobe = self._pins
        if pin == clk and level:
            self._stages = [self._board.level(din), *self._stages[:-1]]
        elif pin == strobe and level:
            self._latch()
        elif pin == self._board.hv_en_pin:
            with self.changed:
                self.changed.notify_all()

    def _latch(self) -> None:
        masks = tuple(
            sum(1 << k for k in range(8) if not self._stages[8 * c + k]) for c in range(self.cells)
        )
        latch = Latch(masks, bool(self._board.level(self._board.hv_en_pin)))
        with self.changed:
            self.latched = latch
            self.changed.notify_all()
        if self._on_latch:
            self._on_latch(latch)
