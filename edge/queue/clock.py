"""Which numbering series a ticket belongs to, when the wall clock cannot be trusted.

Numbers restart each local day, but a Raspberry Pi has no RTC: it boots with the time it
was shut down at (fake-hwclock) and jumps forward when NTP syncs, and clocks are set back
by hand. So numbering is keyed by a *series*, not by the date:

- a later local day starts a new series, unless the clock jumped forward within one boot
  (wall time advanced much more than the monotonic clock): that is a correction, not a
  new day, and the series continues;
- an earlier local day never goes back: the series and its day label stay.

So a number is never issued twice in one series, and a series never restarts because of
a wrong clock; at worst a day's numbers continue from the previous day's.

>>> tz = "Asia/Jakarta"
>>> m, new = next_mark(None, Reading(wall=1_764_392_400.0, mono=100.0, boot_id="b1"), tz)
>>> (m.series, m.day, new)
(1, '2025-11-29', True)
>>> m2, new = next_mark(m, Reading(wall=m.wall - 86_400, mono=160.0, boot_id="b1"), tz)
>>> (m2.series, m2.day, new)   # clock set back a day: same series, same day label
(1, '2025-11-29', False)
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

# Wall time running ahead of the monotonic clock by more than this is a clock step.
JUMP_SLACK_S = 300.0
BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")


@dataclass(frozen=True)
class Reading:
    """Both clocks read at one instant, and which boot the monotonic one belongs to."""

    wall: float
    mono: float
    boot_id: str


@dataclass(frozen=True)
class SeriesMark:
    """The current series, persisted with the clocks as last seen."""

    series: int
    day: str
    wall: float
    mono: float
    boot_id: str

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> SeriesMark:
        return cls(**json.loads(text))


def local_day(wall: float, tz: str) -> str:
    return datetime.fromtimestamp(wall, ZoneInfo(tz)).date().isoformat()


def _clock_stepped_forward(prev: SeriesMark, now: Reading) -> bool:
    same_boot = now.boot_id == prev.boot_id and now.mono >= prev.mono
    return same_boot and (now.wall - prev.wall) - (now.mono - prev.mono) > JUMP_SLACK_S


def next_mark(prev: SeriesMark | None, now: Reading, tz: str) -> tuple[SeriesMark, bool]:
    """The series for an action at ``now``; True when a new series (a new day) starts."""
    day = local_day(now.wall, tz)
    if prev is None:
        return SeriesMark(1, day, now.wall, now.mono, now.boot_id), True
    if day <= prev.day:
        return SeriesMark(prev.series, prev.day, now.wall, now.mono, now.boot_id), False
    if _clock_stepped_forward(prev, now):
        return SeriesMark(prev.series, day, now.wall, now.mono, now.boot_id), False
    return SeriesMark(prev.series + 1, day, now.wall, now.mono, now.boot_id), True


def read_boot_id() -> str:
    try:
        return BOOT_ID_PATH.read_text(encoding="ascii").strip()
    except OSError:
        return "unknown"


class SystemClock:
    """The real clocks. Tests pass their own object with the same ``read()``."""

    def __init__(self) -> None:
        self._boot_id = read_boot_id()

    def read(self) -> Reading:
        return Reading(wall=time.time(), mono=time.monotonic(), boot_id=self._boot_id)
