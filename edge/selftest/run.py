"""One self-test run: every check in a fixed order, then the result told four ways.

The result is spoken (summary first, a code per failure), printed on the ink printer (when
it works), written to the report file (atomically: a half-written report on a FAT boot
partition would mislead) and recorded as a ``selftest`` event in the node's outbox, which
the node publishes to the NCC like any other event.

>>> # brexit selftest --simulate --report selftest.txt; see edge/selftest/cli.py
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from edge.config import NodeConfig
from edge.devices.state import DeviceError
from edge.labels.buttons import node_buttons
from edge.mqtt.health import clock_synced
from edge.queue.engine import QueueEngine
from edge.selftest import devices, system
from edge.selftest.broker import broker_check
from edge.selftest.devices import Rig
from edge.selftest.result import CheckResult, Status, passed
from edge.selftest.words import event_data, report_lines, report_text, spoken_summary

log = logging.getLogger(__name__)
EVENT_TYPE = "selftest"


@dataclass(frozen=True)
class Options:
    """How a run is made and where its result goes."""

    data_dir: Path  # the node's data directory: queue.db (outbox), free space
    report: Path | None = None
    trigger: str = "cli"  # boot | cli | command | kiosk
    button_timeout_s: float = 15.0
    print_report: bool = True
    clock: Callable[[], bool | None] = field(default=clock_synced)


@dataclass(frozen=True)
class Outcome:
    results: tuple[CheckResult, ...]
    spoken: str
    report: tuple[str, ...]

    @property
    def failed(self) -> bool:
        return any(r.status is Status.FAIL for r in self.results)


def run_checks(rig: Rig, opts: Options, now: datetime) -> tuple[CheckResult, ...]:
    """Every check, in the order a technician standing at the node follows."""
    config = rig.config
    results = [
        passed("config", f"konfigurasi node {config.site}/{config.node} terbaca"),
        system.read_disk(opts.data_dir),
        devices.speaker_check(rig),
    ]
    results += devices.button_checks(rig, node_buttons(config), opts.button_timeout_s)
    results += [
        devices.printer_check(rig, now),
        devices.embosser_check(rig),
        devices.cells_check(rig),
        broker_check(config.mqtt),
        system.check_clock(synced=opts.clock(), year=now.year),
        system.check_power(system.read_throttled()),
    ]
    return tuple(results)


Recorder = Callable[[dict[str, Any]], None]  # appends the event's data to the outbox


def run_selftest(rig: Rig, opts: Options, record: Recorder | None = None) -> Outcome:
    """Check, tell, then record the event (by default in the outbox under ``data_dir``)."""
    config = rig.config
    now = datetime.now(ZoneInfo(config.timezone))
    results = run_checks(rig, opts, now)
    outcome = tell(rig, results, opts, now)
    data = event_data(results, opts.trigger)
    if record is None:
        record_event(config, opts.data_dir, data)
    else:
        record(data)
    return outcome


def tell(rig: Rig, results: Sequence[CheckResult], opts: Options, now: datetime) -> Outcome:
    """Speak, print and write the result (the event is recorded by the caller)."""
    config = rig.config
    lines = report_lines(results, site=config.site, node=config.node, at=now,
                         trigger=opts.trigger)
    spoken = spoken_summary(results)
    rig.say(spoken)
    printer_ok = any(r.check == "printer" and r.status is Status.PASS for r in results)
    if opts.print_report and printer_ok:
        try:
            rig.with_printer(lambda p: p.print_text_lines(lines[1:], title=lines[0]))
        except DeviceError as e:  # the report file and the event still tell it
            log.warning("selftest: printing the report failed: %s", e)
    if opts.report is not None:
        write_atomically(opts.report, report_text(lines))
    return Outcome(tuple(results), spoken, tuple(lines))


def record_event(config: NodeConfig, data_dir: Path, data: dict[str, Any]) -> int:
    """Append the ``selftest`` event to the outbox of the node at ``data_dir``; its seq."""
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = QueueEngine(data_dir / "queue.db", config)
    try:
        return engine.record(EVENT_TYPE, data)
    finally:
        engine.close()


def write_atomically(path: Path, text: str) -> None:
    """Write a temporary file beside ``path``, flush it to the card, then rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
