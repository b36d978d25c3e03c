"""Labels kept on the pharmacy node for reprint, and only as long as configured.

One SQLite file (``labels.db`` in the node's data directory); every label is deleted
``keep_days`` after it was made. Nothing here is ever published: patient names and
medicines stay in the puskesmas.

>>> import tempfile
>>> from datetime import date
>>> store = LabelStore(Path(tempfile.mkdtemp()) / "labels.db", keep_days=30)
>>> store.next_number(date(2026, 11, 30))
'261130-001'
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

DAY_S = 86400.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS labels (
    number TEXT PRIMARY KEY, day TEXT NOT NULL, made_at REAL NOT NULL, user TEXT NOT NULL,
    body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS labels_made_at ON labels (made_at);
"""


@dataclass(frozen=True)
class Kept:
    """A label as kept: its JSON (as made, number included), who made it and when."""

    number: str
    body: dict[str, Any]
    user: str
    made_at: float


class LabelStore:
    """Thread-safe: the web form, the MQTT link and the console all make labels."""

    def __init__(self, path: Path, *, keep_days: int) -> None:
        self.path = path
        self.keep_s = keep_days * DAY_S
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.executescript(_SCHEMA)
        self.purge()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def next_number(self, day: date) -> str:
        """The next free label number of ``day``: ``YYMMDD-NNN``."""
        prefix = f"{day:%y%m%d}-"
        with self._lock:
            row = self._conn.execute(
                "SELECT COUNT(*) FROM labels WHERE number LIKE ?", (prefix + "%",)
            ).fetchone()
        n = row[0] + 1
        while self.find(f"{prefix}{n:03d}") is not None:
            n += 1
        return f"{prefix}{n:03d}"

    def save(self, number: str, body: dict[str, Any], *, user: str, day: date,
             now: float | None = None) -> None:
        """Keep a label (replacing one of the same number); forgets expired ones."""
        now = time.time() if now is None else now
        with self._tx() as conn:
            conn.execute("INSERT OR REPLACE INTO labels VALUES (?, ?, ?, ?, ?)",
                         (number, day.isoformat(), now, user, json.dumps(body)))
        self.purge(now)

    def find(self, number: str) -> Kept | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT number, body, user, made_at FROM labels WHERE number = ? "
                "AND made_at >= ?", (number, time.time() - self.keep_s)).fetchone()
        return None if row is None else Kept(row[0], json.loads(row[1]), row[2], row[3])

    def recent(self, limit: int = 20) -> list[Kept]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT number, body, user, made_at FROM labels WHERE made_at >= ? "
                "ORDER BY made_at DESC LIMIT ?", (time.time() - self.keep_s, limit)).fetchall()
        return [Kept(r[0], json.loads(r[1]), r[2], r[3]) for r in rows]

    def purge(self, now: float | None = None) -> int:
        """Delete labels older than ``keep_days``; returns how many."""
        now = time.time() if now is None else now
        with self._tx() as conn:
            return conn.execute("DELETE FROM labels WHERE made_at < ?",
                                (now - self.keep_s,)).rowcount

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM labels").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
