"""``brexit cells``: emulate the controller, show text, read its status.

    brexit cells emulate [--cells N] [--link PATH]
    brexit cells --port PORT show TEXT
    brexit cells --port PORT status
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
from typing import Any

from edge.cells.driver import CellsDriver
from edge.cells.fakemachine import Latch
from edge.devices.state import DeviceError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("cells", help="refreshable Braille cells (RP2040 controller)")
    parser.add_argument("--port", help="pyserial URL of the controller, e.g. /dev/ttyACM0")
    parser.add_argument("--cells", type=int, default=12, help="number of cells (default 12)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for it")
    verbs = parser.add_subparsers(dest="verb", required=True)
    emulate = verbs.add_parser("emulate", help="run the firmware on a pty; print latched cells")
    emulate.add_argument("--link", help="also keep a symlink to the pty here (stable path)")
    emulate.set_defaults(func=run_emulate)
    show = verbs.add_parser("show", help="show text in Indonesian Braille")
    show.add_argument("text")
    show.set_defaults(func=run_show)
    status = verbs.add_parser("status", help="print the firmware's status")
    status.set_defaults(func=run_status)


def braille_line(latch: Latch) -> str:
    """One latched state as Unicode Braille, e.g. ``⠠⠁⠤⠼⠚⠚⠛``."""
    return "".join(chr(0x2800 + mask) for mask in latch.masks)


def run_emulate(args: argparse.Namespace) -> int:
    from edge.cells.emulate import EmulatedCells

    lock = threading.Lock()
    early: list[Latch] = []  # latched while booting, printed after the path
    started = threading.Event()

    def print_latch(latch: Latch) -> None:
        with lock:
            if not started.is_set():
                early.append(latch)
            else:
                print(braille_line(latch), flush=True)

    with EmulatedCells(args.cells, link=args.link, on_latch=print_latch) as emu:
        with lock:
            print(emu.path if args.link else emu.pty_path, flush=True)
            for latch in early:
                print(braille_line(latch), flush=True)
            started.set()
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


def _driver(args: argparse.Namespace) -> CellsDriver | None:
    if not args.port:
        print("brexit cells: --port is required", file=sys.stderr)
        return None
    driver = CellsDriver(args.port, cells=args.cells)
    if not driver.wait_ready(args.timeout):
        state = driver.state().value
        print(f"brexit cells: no controller at {args.port} ({state})", file=sys.stderr)
        driver.close()
        return None
    return driver


def run_show(args: argparse.Namespace) -> int:
    driver = _driver(args)
    if driver is None:
        return 2
    with driver:
        try:
            masks = driver.show(args.text)
        except DeviceError as exc:
            print(f"brexit cells: {exc}", file=sys.stderr)
            return 1
    print("".join(chr(0x2800 + m) for m in masks))
    return 0


def run_status(args: argparse.Namespace) -> int:
    driver = _driver(args)
    if driver is None:
        return 2
    with driver:
        try:
            status = driver.status()
        except DeviceError as exc:
            print(f"brexit cells: {exc}", file=sys.stderr)
            return 1
    print(f"firmware: {status.firmware}")
    print(f"cells: {status.cells}")
    print(f"hv: {'on' if status.hv_on else 'off'} {status.hv_volts:.1f} V, ok={status.hv_ok}")
    print(f"faults: {status.faults.name or 'none'}" if status.faults else "faults: none")
    print(f"uptime_s: {status.uptime_s}")
    print(f"reset_cause: {status.reset_cause.name.lower()}")
    print(f"bad_frames: {status.bad_frames}")
    return 0
