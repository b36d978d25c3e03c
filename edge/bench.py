"""``brexit bench``: measure the press path and the idle node on this machine.

``brexit bench press`` presses the kiosk's buttons of a whole simulated node (mock pins,
real queue database, real speech rendering, real ptys to the emulated embosser and
printer) and prints, as its last line, JSON with ``n``, ``tone_ms_p50``, ``tone_ms_p99``,
``ticket_ms_p99`` (press to ticket committed) and ``emboss_start_ms_p99`` (press to the
first byte the embosser received).

``brexit bench idle`` starts the same node, lets it sit, and prints the process's resident
memory and the CPU use of the node's threads (the emulators' threads, which stand in for
devices, are reported apart).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockFactory

from edge.config import load_config
from edge.node import Node
from edge.simulation import Simulation

FINGER_S = 0.05  # button held down
CYCLE_S = 0.2  # one press every 200 ms: a service's button every 800 ms


def register(sub: Any) -> None:
    p = sub.add_parser("bench", help="measure the press path or the idle node")
    bench = p.add_subparsers(dest="bench", required=True)
    press = bench.add_parser("press", help="press → tone, ticket, embosser latencies")
    press.add_argument("-n", type=int, default=200, help="number of presses (≥ 100)")
    press.set_defaults(func=run_press)
    idle = bench.add_parser("idle", help="RSS and CPU of an idle simulated node")
    idle.add_argument("--seconds", type=float, default=30.0)
    idle.set_defaults(func=run_idle)


@dataclass
class _Marks:
    """Monotonic times of what happened after each press, filled from node threads."""

    tones: list[float] = field(default_factory=list)
    issued: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)

    def add(self, where: list[float]) -> None:
        with self.changed:
            where.append(time.monotonic())
            self.changed.notify_all()

    def wait(self, n: int, timeout_s: float = 10.0) -> bool:
        with self.changed:
            return self.changed.wait_for(
                lambda: len(self.tones) >= n and len(self.issued) >= n, timeout_s
            )


def percentile(values: list[float], p: int) -> float:
    """The ``p``-th percentile (1..99), inclusive method."""
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def run_press(args: argparse.Namespace) -> int:
    if args.n < 100:
        print("brexit bench press: -n must be at least 100")
        return 2
    result = bench_press(args.n)
    print(json.dumps(result))
    return 0


def bench_press(n: int) -> dict[str, Any]:
    config = load_config(None)
    marks = _Marks()
    with tempfile.TemporaryDirectory(prefix="brexit-bench-") as tmp, \
            Simulation(config, Path(tmp)) as sim:
        node = Node(config, Path(tmp), sim.hardware(on_tone=lambda _t: marks.add(marks.tones)))
        node.ctx.listeners.append(
            lambda what, _d: marks.add(marks.issued) if what == "issued" else None
        )
        node.start()
        try:
            presses = _press_all(sim, config.services, n, marks)
            assert sim.embosser is not None
            jobs = sim.embosser.wait_for_jobs(n, timeout=120)
        finally:
            node.stop()
    emboss = [j.first_byte_at - p for j, p in zip(jobs, presses, strict=False)]
    tone = [t - p for t, p in zip(marks.tones, presses, strict=True)]
    ticket = [t - p for t, p in zip(marks.issued, presses, strict=True)]
    ms = 1000.0
    return {
        "n": n,
        "tone_ms_p50": round(percentile(tone, 50) * ms, 2),
        "tone_ms_p99": round(percentile(tone, 99) * ms, 2),
        "ticket_ms_p50": round(percentile(ticket, 50) * ms, 2),
        "ticket_ms_p99": round(percentile(ticket, 99) * ms, 2),
        "emboss_start_ms_p50": round(percentile(emboss, 50) * ms, 2),
        "emboss_start_ms_p99": round(percentile(emboss, 99) * ms, 2),
        "embossed": len(jobs),
        "machine": machine(),
    }


def _press_all(sim: Simulation, services: Any, n: int, marks: _Marks) -> list[float]:
    presses: list[float] = []
    for i in range(n):
        board, gpio = sim.resolve(services[i % len(services)].code)
        assert isinstance(board.pin_factory, MockFactory)
        pin = board.pin_factory.pin(gpio)
        start = time.monotonic()
        presses.append(start)
        pin.drive_low()
        if not marks.wait(i + 1):
            raise RuntimeError(f"press {i + 1} produced no ticket")
        time.sleep(FINGER_S)
        pin.drive_high()
        time.sleep(max(0.0, start + CYCLE_S - time.monotonic()))
    return presses


def run_idle(args: argparse.Namespace) -> int:
    print(json.dumps(bench_idle(args.seconds)))
    return 0


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def bench_idle(seconds: float) -> dict[str, Any]:
    """RSS of the process; CPU of the node's threads apart from the emulators' threads."""
    config = load_config(None)
    with tempfile.TemporaryDirectory(prefix="brexit-idle-") as tmp, \
            Simulation(config, Path(tmp)) as sim:
        node = Node(config, Path(tmp), sim.hardware()).start()
        try:
            time.sleep(2.0)  # let start-up settle
            before, wall0 = _thread_cpu_s(), time.monotonic()
            time.sleep(seconds)
            after, wall = _thread_cpu_s(), time.monotonic() - wall0
            rss = _rss_mb()
        finally:
            node.stop()
    used = {name: after[name] - before.get(name, 0.0) for name in after}
    emulated = sum(v for k, v in used.items() if _is_emulator(k))
    return {
        "seconds": round(wall, 1),
        "rss_mb": round(rss, 1),
        "cpu_percent": round(100.0 * (sum(used.values()) - emulated) / wall, 2),
        "emulators_cpu_percent": round(100.0 * emulated / wall, 2),
        "machine": machine(),
    }


def _is_emulator(key: str) -> bool:
    name = key.split(":", 1)[1]
    return name.endswith("-emulator") or name == "cells-firmware"


def _thread_cpu_s() -> dict[str, float]:
    """CPU seconds per thread of this process, keyed by ``tid:name``."""
    tick = os.sysconf("SC_CLK_TCK")
    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, float] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            stat = Path(f"/proc/self/task/{tid}/stat").read_text()
        except OSError:  # the thread ended
            continue
        fields = stat.rsplit(")", 1)[1].split()
        out[f"{tid}:{names.get(int(tid), '?')}"] = (int(fields[11]) + int(fields[12])) / tick
    return out
