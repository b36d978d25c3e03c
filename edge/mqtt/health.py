"""System metrics for the node's ``health`` payload: CPU temperature, disk, memory, uptime,
clock synchronisation. Each reader returns None when the machine cannot tell.

>>> m = read_system(Path("/"))
>>> m.disk_total_bytes > 0 and m.uptime_s > 0
True
"""

from __future__ import annotations

import ctypes
import ctypes.util
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mqtt_config import certs

THERMAL_ROOT = Path("/sys/class/thermal")
TIME_ERROR = 5  # adjtimex(2): the clock is not synchronised


@dataclass(frozen=True)
class SystemMetrics:
    """One reading of the machine's own health.

    >>> SystemMetrics(48.5, 10, 100, 5, 50, 3600.0, True).to_dict()["disk_used_pct"]
    90.0
    """

    cpu_temp_c: float | None
    disk_free_bytes: int
    disk_total_bytes: int
    mem_available_bytes: int | None
    mem_total_bytes: int | None
    uptime_s: float | None
    clock_synced: bool | None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        used = self.disk_total_bytes - self.disk_free_bytes
        out["disk_used_pct"] = round(100.0 * used / self.disk_total_bytes, 1) if (
            self.disk_total_bytes
        ) else None
        return out


def parse_millidegrees(text: str) -> float | None:
    """``/sys/class/thermal/*/temp`` holds millidegrees Celsius: "48312" → 48.3."""
    try:
        return round(int(text.strip()) / 1000.0, 1)
    except ValueError:
        return None


def parse_meminfo(text: str) -> tuple[int | None, int | None]:
    """(MemAvailable, MemTotal) in bytes from ``/proc/meminfo``."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        fields = rest.split()
        if fields and fields[0].isdigit():
            values[key] = int(fields[0]) * (1024 if fields[1:2] == ["kB"] else 1)
    return values.get("MemAvailable"), values.get("MemTotal")


def parse_uptime(text: str) -> float | None:
    try:
        return float(text.split()[0])
    except (IndexError, ValueError):
        return None


def parse_ntp_synchronized(text: str) -> bool | None:
    """``timedatectl show -p NTPSynchronized`` prints ``NTPSynchronized=yes``."""
    key, _, value = text.strip().partition("=")
    if key != "NTPSynchronized":
        return None
    return {"yes": True, "no": False}.get(value.strip())


def cpu_temp_c(root: Path = THERMAL_ROOT) -> float | None:
    """The first thermal zone's temperature (the SoC on a Raspberry Pi)."""
    for zone in sorted(root.glob("thermal_zone*")):
        try:
            value = parse_millidegrees((zone / "temp").read_text(encoding="ascii"))
        except OSError:
            continue
        if value is not None:
            return value
    return None


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="ascii")
    except OSError:
        return ""


def clock_synced() -> bool | None:
    """NTP synchronisation, from timedatectl, else from the kernel (adjtimex)."""
    if shutil.which("timedatectl"):
        try:
            done = subprocess.run(
                ["timedatectl", "show", "-p", "NTPSynchronized"],
                capture_output=True, text=True, timeout=2, check=False,
            )
            if done.returncode == 0:
                return parse_ntp_synchronized(done.stdout)
        except (OSError, subprocess.SubprocessError):
            pass
    return _adjtimex_synced()


def _adjtimex_synced() -> bool | None:
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return None
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        timex = ctypes.create_string_buffer(512)  # struct timex, modes = 0: read only
        state = int(libc.adjtimex(timex))
    except (OSError, AttributeError):
        return None
    return None if state < 0 else state != TIME_ERROR


def read_system(data_dir: Path) -> SystemMetrics:
    """Read every metric; ``data_dir`` is where the queue database lives (for disk space)."""
    disk = shutil.disk_usage(data_dir)
    available, total = parse_meminfo(_read("/proc/meminfo"))
    return SystemMetrics(
        cpu_temp_c=cpu_temp_c(),
        disk_free_bytes=disk.free,
        disk_total_bytes=disk.total,
        mem_available_bytes=available,
        mem_total_bytes=total,
        uptime_s=parse_uptime(_read("/proc/uptime")),
        clock_synced=clock_synced(),
    )


def certificates(files: Mapping[str, Path], now: datetime | None = None) -> list[dict[str, Any]]:
    """Health's ``certificates``: days left of each named PEM certificate file.

    ``files`` maps a name to a path, e.g. ``{"ca": cfg.tls_ca, "client": cfg.tls_cert}``;
    a state of ``warning`` (under 30 days), ``expired`` or ``error`` (unreadable, with the
    reason) is a fault. For the site broker's certificate over TLS, use
    ``mqtt_config.certs.status("broker", parse_not_after(sock.getpeercert()["notAfter"]))``.

    >>> certificates({"ca": Path("/nonexistent/ca.crt")})[0]["state"]
    'error'
    """
    out: list[dict[str, Any]] = []
    for name, path in files.items():
        try:
            out.append(certs.file_status(name, path, now).to_dict())
        except certs.CertError as e:
            out.append({"name": name, "days_left": None, "not_after": None,
                        "state": "error", "error": str(e)})
    return out
