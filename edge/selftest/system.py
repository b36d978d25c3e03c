"""Checks of the machine itself: clock, power, free space. Parsers are pure functions.

>>> parse_throttled("throttled=0x50005")
Throttled(under_voltage=True, under_voltage_before=True, throttled=True, soft_temp=False)
>>> check_clock(synced=False, year=2026).code
'E60'
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from edge.selftest.result import CheckResult, Fault, fail, passed, skipped

MIN_YEAR = 2026  # this release was made in 2026: an earlier clock has not been set
MAX_YEAR = 2100
MIN_FREE_BYTES = 200 * 1024 * 1024
MIN_FREE_FRACTION = 0.05

# vcgencmd get_throttled bits (Raspberry Pi firmware)
_UNDER_VOLTAGE = 1 << 0
_THROTTLED = 1 << 2
_SOFT_TEMP = 1 << 3
_UNDER_VOLTAGE_BEFORE = 1 << 16


@dataclass(frozen=True)
class Throttled:
    """What the Pi's firmware says about its power supply and temperature."""

    under_voltage: bool  # right now
    under_voltage_before: bool  # at some time since boot
    throttled: bool
    soft_temp: bool


def parse_throttled(text: str) -> Throttled | None:
    """``vcgencmd get_throttled`` prints ``throttled=0x50005``; anything else is None."""
    key, _, value = text.strip().partition("=")
    if key != "throttled":
        return None
    try:
        bits = int(value, 16)
    except ValueError:
        return None
    return Throttled(
        under_voltage=bool(bits & _UNDER_VOLTAGE),
        under_voltage_before=bool(bits & _UNDER_VOLTAGE_BEFORE),
        throttled=bool(bits & _THROTTLED),
        soft_temp=bool(bits & _SOFT_TEMP),
    )


def check_power(reading: Throttled | None) -> CheckResult:
    """Under-voltage now, earlier since boot, or too hot; None: not a Raspberry Pi."""
    if reading is None:
        return skipped("power", "pemantau daya tidak tersedia")
    if reading.under_voltage:
        return fail(Fault.POWER_LOW_NOW, "power")
    if reading.under_voltage_before:
        return fail(Fault.POWER_LOW_BEFORE, "power")
    if reading.soft_temp or reading.throttled:
        return fail(Fault.POWER_HOT, "power")
    return passed("power", "daya listrik baik")


def read_throttled() -> Throttled | None:
    """Ask the firmware, where ``vcgencmd`` exists (a Raspberry Pi)."""
    if shutil.which("vcgencmd") is None:
        return None
    try:
        done = subprocess.run(["vcgencmd", "get_throttled"], capture_output=True, text=True,
                              timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_throttled(done.stdout) if done.returncode == 0 else None


def check_clock(*, synced: bool | None, year: int) -> CheckResult:
    """A plausible year first (a Pi without network starts in the past), then NTP."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        return fail(Fault.CLOCK_YEAR, "clock", f"tahun pada jam tidak masuk akal: {year}")
    if synced is False:
        return fail(Fault.CLOCK_UNSYNCED, "clock")
    if synced is None:
        return passed("clock", f"tahun {year}; status NTP tidak tersedia")
    return passed("clock", "jam tersinkron dengan NTP")


def check_disk(free: int, total: int) -> CheckResult:
    """Enough room for the queue database and the logs."""
    mib = free // (1024 * 1024)
    if free < MIN_FREE_BYTES or (total and free < MIN_FREE_FRACTION * total):
        return fail(Fault.DISK_LOW, "disk", f"ruang penyimpanan hampir penuh: sisa {mib} MB")
    return passed("disk", f"ruang penyimpanan cukup: sisa {mib} MB")


def read_disk(path: Path) -> CheckResult:
    usage = shutil.disk_usage(path)
    return check_disk(usage.free, usage.total)
