"""A node on a fresh database continues the day's numbers from its site's queue snapshot.

A re-imaged node (or one whose damaged database was moved aside) starts numbering at
A-001 again; if patients already hold numbers from earlier that day, two of them would hold
the same number. The site's retained ``brexit/v1/{site}/queue`` snapshot carries the last
number issued per service (``issued``) and its ``day``: once per database, right after the
first connection, the link reads it and hands the numbers to the queue engine, which
applies them only to that same day and never lowers its own.

>>> numbers_to_continue(b'{"day": "2026-11-30", "issued": {"A": 12, "B": 3, "x": 1}}')
('2026-11-30', {'A': 12, 'B': 3})
>>> numbers_to_continue(b'{"waiting": {}}') is None
True
"""

from __future__ import annotations

import logging
import re
from typing import Protocol

from contract.payloads import decode_object

log = logging.getLogger(__name__)

DONE_KEY = "mqtt.site_numbers_checked"
SERVICE = re.compile(r"[A-Z]")
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class Meta(Protocol):
    def meta_get(self, key: str) -> str | None: ...

    def meta_set(self, key: str, value: str) -> None: ...


class Continuer(Protocol):
    def continue_numbers(self, last_numbers: dict[str, int], *, day: str | None = None) -> bool:
        ...


def numbers_to_continue(raw: bytes) -> tuple[str, dict[str, int]] | None:
    """``(day, last number per service)`` of a snapshot; None for an older node's snapshot
    without ``day`` and ``issued``, or a payload that is not a snapshot."""
    snapshot = decode_object(raw)
    day = None if snapshot is None else snapshot.get("day")
    issued = None if snapshot is None else snapshot.get("issued")
    if not isinstance(day, str) or not DAY.fullmatch(day) or not isinstance(issued, dict):
        return None
    return day, {
        code: n for code, n in issued.items()
        if SERVICE.fullmatch(code) and type(n) is int and n > 0
    }


class NumberCarry:
    """Whether this database still has to read the site's snapshot, and doing it.

    ``begin()`` at each connection says whether to read it; the snapshot (``take``) or the
    echo of the node's own birth (``finish``: the broker had none) settles it. A failure to
    apply the numbers (a full disk) is retried on the next connection; a failure to
    remember that it is done only means reading the snapshot once more (never lowering).
    """

    def __init__(self, meta: Meta, actions: Continuer, topic: str) -> None:
        self._meta = meta
        self._actions = actions
        self._topic = topic
        self._done = meta.meta_get(DONE_KEY) is not None
        self._seen = False
        self.pending = False

    def begin(self) -> bool:
        """A new connection: True when the snapshot must be read first."""
        self.pending = not self._done
        self._seen = False
        return self.pending

    def take(self, raw: bytes) -> None:
        """The retained snapshot arrived: continue its numbers if they are of today."""
        self._seen = True
        found = numbers_to_continue(raw)
        if not found or not found[1]:
            self._done = True
            return
        day, numbers = found
        try:
            applied = self._actions.continue_numbers(numbers, day=day)
        except Exception as e:
            log.warning("mqtt: cannot continue the site's numbers now (%s); again on the next "
                        "connection", e)
            return
        self._done = True
        if applied:
            shown = ", ".join(f"{code}-{n:03d}" for code, n in sorted(numbers.items()))
            log.warning("mqtt: fresh database: today's numbers continue after %s (from %s)",
                        shown, self._topic)

    def finish(self) -> None:
        """Reading is over for this connection (no retained snapshot if none was seen)."""
        self.pending = False
        if not self._seen:
            self._done = True
        if self._done:
            try:
                self._meta.meta_set(DONE_KEY, "1")
            except Exception as e:
                log.warning("mqtt: cannot remember that the site's numbers were read: %s", e)
