"""``brexit selftest``: test every part of the node, say the result, write the report.

Exit status: 0 when every check passed (skipped checks do not count), 1 when any failed,
2 on bad input (a bad config file, a bad option).

Simulate mode uses the devices' emulators and mock pins; a simulated technician presses
each button when asked. Faults can be injected, as with ``brexit node --simulate``::

    brexit selftest --simulate --fault printer:paper_out --report selftest.txt
    brexit selftest --simulate --fault button:service-2   # that button does not answer
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from edge.config import ConfigError, load_config
from edge.node_cli import real_hardware
from edge.selftest.result import Fault, fail
from edge.selftest.rig import StandaloneRig
from edge.selftest.run import Options, run_selftest, write_atomically
from edge.selftest.words import report_lines, report_text, spoken_summary
from edge.simulation import Simulation
from edge.speech.backends import Pyttsx3Backend, SpeechBackend, WavBackend
from edge.speech.worker import SpeechWorker

TRIGGERS = ("boot", "cli", "command", "kiosk")
DEVICE_FAULTS = ("paper_out", "offline")


def register(sub: Any) -> None:
    p = sub.add_parser("selftest", help="test every part of the node and say the result",
                       description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, help="the node's TOML file (default: demo puskesmas)")
    p.add_argument("--data", type=Path, default=Path("data"),
                   help="the node's data directory (the event goes to its outbox)")
    p.add_argument("--report", type=Path, help="write the report here (UTF-8 text)")
    p.add_argument("--simulate", action="store_true", help="mock pins and emulated devices")
    p.add_argument("--fault", action="append", default=[], metavar="DEVICE:STATE",
                   help="with --simulate: printer:paper_out, embosser:offline, button:NAME …")
    p.add_argument("--button-timeout", type=float, default=15.0, metavar="SECONDS",
                   help="how long to wait for each button (default 15)")
    p.add_argument("--trigger", choices=TRIGGERS, default="cli", help="recorded in the event")
    p.add_argument("--no-print", action="store_true", help="do not print the report on paper")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        faults = parse_faults(args.fault, simulate=args.simulate)
        if args.button_timeout <= 0:
            raise ValueError("--button-timeout must be positive")
        config = load_config(args.config)
        args.data.mkdir(parents=True, exist_ok=True)
    except ConfigError as e:
        print(f"brexit selftest: {e}", file=sys.stderr)
        config_failed(args, str(e))
        return 2
    except (ValueError, OSError) as e:
        print(f"brexit selftest: {e}", file=sys.stderr)
        return 2
    opts = Options(data_dir=args.data, report=args.report, trigger=args.trigger,
                   button_timeout_s=args.button_timeout, print_report=not args.no_print)
    with ExitStack() as stack:
        if args.simulate:
            sim = stack.enter_context(Simulation(config, args.data))
            try:
                apply_faults(sim, faults)
            except ValueError as e:
                print(f"brexit selftest: {e}", file=sys.stderr)
                return 2
            dead = {name for device, name in faults if device == "button"}
            rig = StandaloneRig(config, sim.hardware(),
                                finger=lambda b: None if b in dead else sim.press(b))
        else:
            rig = StandaloneRig(config, real_hardware(config))
        stack.enter_context(rig)
        outcome = run_selftest(rig, opts)
    for line in outcome.report:
        print(line)
    return 1 if outcome.failed else 0


def parse_faults(specs: list[str], *, simulate: bool) -> list[tuple[str, str]]:
    """``printer:paper_out`` → ("printer", "paper_out"); bad ones are a ValueError."""
    if specs and not simulate:
        raise ValueError("--fault needs --simulate")
    faults = []
    for spec in specs:
        device, _, state = spec.partition(":")
        device_fault = device in ("printer", "embosser") and state in (*DEVICE_FAULTS, "ok")
        if not (device_fault or (device == "button" and state)):
            raise ValueError(f"--fault: expected printer|embosser:paper_out|offline or "
                             f"button:NAME, got {spec!r}")
        faults.append((device, state))
    return faults


def apply_faults(sim: Simulation, faults: list[tuple[str, str]]) -> None:
    for device, state in faults:
        emulator = {"printer": sim.printer, "embosser": sim.embosser}.get(device)
        if device == "button":
            sim.resolve(state)  # a button the node does not have is an error
            continue
        if emulator is None:
            raise ValueError(f"--fault: the node has no {device}")
        emulator.paper_out = state == "paper_out"
        emulator.offline = state == "offline"


def config_failed(args: argparse.Namespace, problem: str) -> None:
    """A config that cannot be read is still reported: spoken and written (E01)."""
    results = (fail(Fault.CONFIG_INVALID, "config", f"berkas konfigurasi node salah: {problem}"),)
    now = datetime.now(ZoneInfo("Asia/Jakarta"))
    if args.report is not None:
        lines = report_lines(results, site="?", node="?", at=now, trigger=args.trigger)
        write_atomically(args.report, report_text(lines))
    backend: SpeechBackend = (WavBackend(args.data / "speech") if args.simulate
                              else Pyttsx3Backend())
    spoken = spoken_summary([fail(Fault.CONFIG_INVALID, "config")])
    with SpeechWorker(backend) as speech:
        speech.say(spoken, channel="selftest")
        speech.wait_idle(30)
