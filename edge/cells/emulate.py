"""The cell controller, emulated: the real firmware (firmware/cellfw) on CPython.

The firmware runs on its own thread against a ``FakeMachine`` and a real pty; a
``CellChain`` decodes the pins it drives back into dots. ``path`` is a symlink that always
points at the current pty, so a driver finds the device again after ``unplug()`` and
``replug()`` — as ``/dev/serial/by-id/…`` does for a real Pico.

>>> with EmulatedCells(cells=4) as emu:
...     emu.dots()
(0, 0, 0, 0)
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

from edge.cells.fakemachine import Board, CellChain, FakeMachine, Latch, SystemReset
from edge.closing import Closing
from edge.devices.ptyport import PtyPort

# The firmware ships as package data (``firmware/`` in the wheel); BREXIT_FIRMWARE overrides.
FIRMWARE_DIR = Path(os.environ.get("BREXIT_FIRMWARE") or str(resources.files("firmware")))


def load_firmware() -> ModuleType:
    """Import the firmware package ``cellfw`` from ``FIRMWARE_DIR`` (never from edge)."""
    if str(FIRMWARE_DIR) not in sys.path:
        sys.path.insert(0, str(FIRMWARE_DIR))
    import cellfw.config
    import cellfw.runner

    return cellfw


class _PowerOff(BaseException):
    """Unwinds the firmware thread when the emulated Pico loses power."""


class _Transport:
    """The firmware's USB serial port: bytes from the pty in, replies to the pty out."""

    def __init__(self, board: Board) -> None:
        self._board = board
        self._buf = bytearray()
        self._cond = threading.Condition()
        self.powered = True
        self.stalled = threading.Event()
        self.pty: PtyPort | None = None

    def feed(self, data: bytes) -> None:
        with self._cond:
            self._buf += data
            self._cond.notify()

    def read(self) -> bytes:
        while self.stalled.is_set() and self.powered:  # a hung main loop: nobody feeds the WDT
            self._board.check_watchdog()
            time.sleep(0.005)
        with self._cond:
            if not self._buf and self.powered:
                self._cond.wait(0.005)
            if not self.powered:
                raise _PowerOff
            data, self._buf = bytes(self._buf), bytearray()
        return data

    def write(self, data: bytes) -> None:
        try:
            if self.pty is not None:
                self.pty.send(data)
        except OSError:  # unplugged: the bytes go nowhere
            pass

    def power_off(self) -> None:
        with self._cond:
            self.powered = False
            self._cond.notify()


class EmulatedCells(Closing):
    """A Pico with ``cells`` cells on a pty, running the real firmware.

    ``dots()`` the raised dots, ``press(key)`` a routing key, ``unplug()``/``replug()``,
    ``stall()`` (main loop hangs, the watchdog resets it), ``inject_to_host(bytes)`` and
    ``inject_to_firmware(bytes)`` (line noise), ``board.hv_volts = 0`` (dead HV supply).

    >>> with EmulatedCells(cells=2) as emu:
    ...     emu.press(0)
    """

    def __init__(
        self,
        cells: int = 12,
        *,
        link: str | Path | None = None,
        config: dict[str, Any] | None = None,
        on_latch: Callable[[Latch], None] | None = None,
    ) -> None:
        self._fw = load_firmware()
        self.config: dict[str, Any] = self._fw.config.merged({**(config or {}), "cells": cells})
        self.cells = cells
        self._on_latch = on_latch
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if link is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="brexit-cells-")
            link = Path(self._tmp.name) / "cells"
        self.path = str(link)
        self.firmware: Any = None
        self._thread: threading.Thread | None = None
        self._booted = threading.Event()
        self.replug()

    # --- what a test or the node sees -------------------------------------------------

    def dots(self) -> tuple[int, ...]:
        """Masks of the dots standing now (none while HV is off)."""
        return self.chain.dots()

    def latched(self) -> Latch:
        return self.chain.latched

    @property
    def pty_path(self) -> str:
        assert self._transport.pty is not None
        return self._transport.pty.path

    def press(self, key: int, timeout_s: float = 5.0) -> None:
        """Press routing key ``key`` (0-based) until the firmware has seen it, then release."""
        keys = len(self.firmware.keys.down)
        if not 0 <= key < keys:
            raise ValueError(f"no routing key {key}: the keys are 0..{keys - 1}")
        pin = self.config["key_pins"][key]
        self.board.drive(pin, 0)
        try:
            self._wait(lambda: self.firmware.keys.down[key], timeout_s)
        finally:
            self.board.drive(pin, None)
        self._wait(lambda: not self.firmware.keys.down[key], timeout_s)

    def stall(self) -> None:
        """Hang the firmware's main loop; the watchdog resets the board."""
        self._booted.clear()
        self._transport.stalled.set()

    def wait_booted(self, timeout_s: float = 5.0) -> bool:
        return self._booted.wait(timeout_s)

    def inject_to_host(self, data: bytes) -> None:
        self._transport.write(data)

    def inject_to_firmware(self, data: bytes) -> None:
        self._transport.feed(data)

    # --- power and cable ----------------------------------------------------------------

    def unplug(self) -> None:
        """Pull the USB cable: the pty disappears and the Pico loses power."""
        self._transport.power_off()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._transport.pty is not None:
            self._transport.pty.close()
            self._transport.pty = None

    def replug(self) -> None:
        """Plug the cable back in: a new pty (same ``path``), a power-on boot."""
        self.board = Board(hv_en_pin=self.config["pin_hv_en"], hv_divider=self.config["hv_divider"])
        cfg = self.config
        self.chain = CellChain(
            self.board,
            self.cells,
            din=cfg["pin_din"],
            clk=cfg["pin_clk"],
            strobe=cfg["pin_strobe"],
            on_latch=self._on_latch,
        )
        self._transport = _Transport(self.board)
        self._thread = threading.Thread(target=self._power_on, name="cells-firmware", daemon=True)
        self._booted.clear()
        self._thread.start()
        self._booted.wait(5)
        self._transport.pty = PtyPort(self._from_host, name="cells")
        self._point_link(self._transport.pty.path)

    def close(self) -> None:
        self.unplug()
        if self._tmp is not None:
            self._tmp.cleanup()
        elif os.path.islink(self.path):
            os.unlink(self.path)

    # --- inside ---------------------------------------------------------------------------

    def _from_host(self, data: bytes) -> None:
        self._transport.feed(data)

    def _power_on(self) -> None:
        machine = FakeMachine(self.board)
        while True:
            try:
                self.firmware = self._fw.runner.Firmware(machine, self.config, self._transport)
                self._transport.stalled.clear()
                self._booted.set()
                self.firmware.run()
            except SystemReset:
                continue  # the CPU restarts: boot again
            except _PowerOff:
                return

    def _point_link(self, target: str) -> None:
        tmp = f"{self.path}.{os.getpid()}.new"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(target, tmp)
        os.replace(tmp, self.path)

    def _wait(self, condition: Callable[[], bool], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("emulated cells did not react")
            time.sleep(0.002)

