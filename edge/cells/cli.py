"""``brexit cells``: emulate the controller, show text, read its status.

    brexit cells emulate [--cells N] [--link PATH]
    brexit cells --port PORT show TEXT [--page N]
    brexit cells --port PORT status

``--port``, ``--cells`` and ``--timeout`` may come before or after the verb. Without
``--cells`` the controller's own count (from its HELLO reply) is used. Text longer than
the cells is shown in pages cut at spaces: ``show`` shows page 1 (or ``--page N``) and
says how many there are; on a node the last routing key shows the next page.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import threading
from typing import Any

from edge.braille.codec import BrailleError
from edge.cells.driver import CellsDriver
from edge.cells.fakemachine import Latch
from edge.cells.pages import pages
from edge.cli import int_in
from edge.devices.state import DeviceError

EMULATED_CELLS = 12  # what ``emulate`` runs without --cells (the firmware's default)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 600, not {text}")
    return value


def _common(parser: argparse.ArgumentParser, default: Any) -> None:
    """The options every verb takes, before or after it (``default`` SUPPRESS after)."""
    given = {} if default is None else {"default": default}
    parser.add_argument("--port", help="pyserial URL of the controller, e.g. /dev/ttyACM0",
                        **given)
    parser.add_argument("--cells", type=int_in(1, 80), metavar="N",
                        help="number of cells (default: the controller's own count)", **given)
    parser.add_argument("--timeout", type=_seconds,
                        help="seconds to wait for the controller (default 5)",
                        **({"default": 5.0} if default is None else given))


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "cells", help="refreshable Braille cells (RP2040 controller)", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    _common(parser, None)
    verbs = parser.add_subparsers(dest="verb", required=True)
    emulate = verbs.add_parser("emulate", help="run the firmware on a pty; print latched cells")
    emulate.add_argument("--link", help="also keep a symlink to the pty here (stable path)")
    emulate.set_defaults(func=run_emulate)
    show = verbs.add_parser("show", help="show text in Indonesian Braille")
    show.add_argument("text")
    show.add_argument("--page", type=int_in(1, 999), default=1,
                      help="which page of a text longer than the cells (default 1)")
    show.set_defaults(func=run_show)
    status = verbs.add_parser("status", help="print the firmware's status")
    status.set_defaults(func=run_status)
    for verb in (emulate, show, status):
        _common(verb, argparse.SUPPRESS)


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

    count = args.cells or EMULATED_CELLS
    with EmulatedCells(count, link=args.link, on_latch=print_latch) as emu:
        with lock:
            print(emu.path if args.link else emu.pty_path, flush=True)
            for latch in early:
                print(braille_line(latch), flush=True)
            started.set()
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


def _fail(message: str, status: int = 2) -> int:
    print(f"brexit cells: {message}", file=sys.stderr)
    return status


def _driver(args: argparse.Namespace) -> CellsDriver | None:
    logging.getLogger("edge.cells.driver").setLevel(logging.ERROR)  # we say why, once
    if not args.port:
        _fail("--port is required (the controller, e.g. /dev/serial/by-id/usb-MicroPython_…)")
        return None
    driver = CellsDriver(args.port, cells=args.cells)
    if not driver.wait_ready(args.timeout):
        reason = driver.last_error or driver.state().value
        _fail(f"no controller at {args.port}: {reason}")
        driver.close()
        return None
    return driver


def run_show(args: argparse.Namespace) -> int:
    try:
        pages(args.text, 80)  # can it be written at all? (before waiting for a controller)
    except BrailleError as exc:
        return _fail(f"cannot show {args.text!r}: {exc}")
    driver = _driver(args)
    if driver is None:
        return 2
    with driver:
        assert driver.cells is not None  # known after the handshake
        count = len(pages(args.text, driver.cells))
        if args.page > count:
            return _fail(f"--page {args.page}: {args.text!r} has {count} page(s) of "
                         f"{driver.cells} cells")
        try:
            masks = driver.show(args.text, args.page)
        except DeviceError as exc:
            return _fail(str(exc), 1)
    print("".join(chr(0x2800 + m) for m in masks))
    if count > 1:
        _fail(f"{args.text!r} is longer than the {driver.cells} cells: showing page "
              f"{args.page} of {count} (--page N shows another)")
    return 0


def run_status(args: argparse.Namespace) -> int:
    driver = _driver(args)
    if driver is None:
        return 2
    with driver:
        try:
            status = driver.status()
        except DeviceError as exc:
            return _fail(str(exc), 1)
    print(f"firmware: {status.firmware}")
    print(f"cells: {status.cells}")
    print(f"hv: {'on' if status.hv_on else 'off'} {status.hv_volts:.1f} V, ok={status.hv_ok}")
    print(f"faults: {status.faults.name or 'none'}" if status.faults else "faults: none")
    print(f"uptime_s: {status.uptime_s}")
    print(f"reset_cause: {status.reset_cause.name.lower()}")
    print(f"bad_frames: {status.bad_frames}")
    return 0
