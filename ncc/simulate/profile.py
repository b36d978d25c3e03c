"""How busy a puskesmas is through the day: patients arriving per hour, by local hour.

Outpatient registration opens at 07:30, most patients come 08:00-10:00, the last before
noon; the afternoon is quiet (a few emergencies and late arrivals). A site's ``size`` scales
the curve (a small puskesmas sees 60 patients a day, a busy one 250).

>>> arrivals_per_hour(6.0), arrivals_per_hour(8.5), arrivals_per_hour(13.0)
(0.0, 60.0, 6.0)
>>> round(sum(arrivals_per_hour(h / 4) for h in range(96)) / 4)
203
>>> local_hour("07:45")
7.75
"""

from __future__ import annotations

# (from hour, to hour, patients per hour at size 1.0)
DAY: tuple[tuple[float, float, float], ...] = (
    (7.5, 8.0, 30.0),
    (8.0, 10.0, 60.0),
    (10.0, 11.0, 35.0),
    (11.0, 12.0, 15.0),
    (12.0, 15.0, 6.0),
)
PEAK_HOUR = 8.5


def arrivals_per_hour(hour: float) -> float:
    """Patients per hour arriving at a size-1.0 puskesmas at local ``hour`` (0-24)."""
    hour %= 24.0
    for start, end, rate in DAY:
        if start <= hour < end:
            return rate
    return 0.0


def local_hour(text: str) -> float:
    """``HH:MM`` as hours (07:45 -> 7.75); ValueError when it is not a time of day."""
    hh, sep, mm = text.partition(":")
    if not sep or not hh.isdigit() or not mm.isdigit() or int(hh) > 23 or int(mm) > 59:
        raise ValueError(f"--clock: {text!r} is not HH:MM")
    return int(hh) + int(mm) / 60.0
