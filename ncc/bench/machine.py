"""What a benchmark ran on, and what a process costs: CPU seconds and RSS from /proc."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def machine() -> dict[str, Any]:
    """CPU model and count, memory, load average, Python and Mosquitto versions."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        out = subprocess.run(["mosquitto", "-h"], capture_output=True, text=True, timeout=5)
        mosquitto = out.stdout.splitlines()[0] if out.stdout else ""
    except (OSError, subprocess.TimeoutExpired):
        mosquitto = ""
    return {"cpu": model or platform.machine(), "cpus": os.cpu_count(),
            "mem_gib": round(mem / 2**30, 1), "load_avg": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(), "mosquitto": mosquitto}


@dataclass(frozen=True)
class ProcSample:
    cpu_s: float  # user + system seconds so far
    rss_bytes: int


def sample(pid: int) -> ProcSample | None:
    """CPU seconds and RSS of ``pid`` and its threads (None when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        statm = Path(f"/proc/{pid}/statm").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICKS
    return ProcSample(cpu, int(statm.split()[1]) * PAGE)


def percentile(values: list[float], p: float) -> float | None:
    """The ``p``-th percentile (nearest rank) of ``values``; None when empty.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50), percentile([1.0, 2.0, 3.0, 4.0], 95)
    (2.0, 4.0)
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def busiest(exclude: set[int], top: int = 6) -> list[str]:
    """What else is using the CPU (``ps``): the benchmark's machine is shared."""
    try:
        out = subprocess.run(["ps", "-eo", "pid,pcpu,args", "--sort=-pcpu"], capture_output=True,
                             text=True, timeout=10).stdout.splitlines()[1:]
    except (OSError, subprocess.TimeoutExpired):
        return []
    found = []
    for line in out:
        pid, pcpu, args = [*line.split(None, 2), "", ""][:3]
        if pid.isdigit() and int(pid) not in exclude and int(pid) != os.getpid():
            found.append(f"{pcpu}% {args[:90]}")
        if len(found) >= top:
            break
    return found
