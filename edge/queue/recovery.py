"""Opening the queue database at start: check it, and move a damaged one aside.

``PRAGMA quick_check`` runs on every start. A database that fails it (or is empty, or is
not a database at all) is renamed ``queue.db.damaged-YYYYMMDDTHHMMSSZ`` (with its
``-wal`` and ``-shm``; never deleted), and the node continues on a fresh database. What can
still be read from the damaged file (the numbering series and the last serial issued per
service) is carried over, so no number of that day is issued twice; when nothing can be
read the fresh database starts a new series, and its ``queue.reset`` event says so.

The same happens while the node runs (``QueueEngine``): SQLite answering SQLITE_CORRUPT or
SQLITE_NOTADB, or the file changed under the open connection (``FileMark.check``: replaced,
deleted, truncated or its header overwritten; SQLite would go on writing its WAL and the
damage would only show at the next start, taking those tickets with it). Then the numbers
are carried from what the engine itself knows (its last commits and its open connection),
not from the file.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "queue.db"
>>> _ = path.write_bytes(b"this is not a database")
>>> conn, damage = open_checked(path)
>>> damage.reason, damage.salvage is None, damage.moved_to.name.startswith("queue.db.damaged-")
('file is not a database', True, True)
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from edge.queue.clock import SeriesMark
from edge.queue.db import connect, secure_file
from edge.queue.models import StorageError

log = logging.getLogger(__name__)

DAMAGE_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
SQLITE_MAGIC = b"SQLite format 3\x00"
FIXED_HEADER = 24  # magic, page size, versions, reserved bytes, payload fractions


@dataclass(frozen=True)
class Salvage:
    """What was read back from a damaged database."""

    series_mark: str  # SeriesMark JSON
    last_numbers: dict[str, int]  # service -> last serial of that series


@dataclass(frozen=True)
class Damage:
    """A damaged database found at start, and where it went."""

    reason: str
    moved_to: Path
    salvage: Salvage | None

    def message(self) -> str:
        """The one line a technician reads."""
        carried = ("the series and last numbers carried over" if self.salvage
                   else "nothing could be read: a new numbering series starts")
        return (f"queue database damaged ({self.reason}); moved aside to {self.moved_to.name}; "
                f"continuing on a fresh database, {carried}")


@dataclass(frozen=True)
class FileMark:
    """The database file as the engine last saw it: which file, how big, its fixed header.

    Only the node's own connections write it, and SQLite never shrinks it (no VACUUM) nor
    changes those header bytes, so anything else is damage done under the node.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "queue.db"
    >>> _ = path.write_bytes(SQLITE_MAGIC + bytes(84))
    >>> mark = FileMark.of(path)
    >>> mark.check(path)[0] is None
    True
    >>> _ = path.write_bytes(b"x" * 100)
    >>> mark.check(path)[0]
    'the database file was overwritten'
    """

    dev: int
    ino: int
    size: int
    header: bytes

    @classmethod
    def of(cls, path: Path) -> FileMark:
        """Raises OSError."""
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            header = f.read(FIXED_HEADER)
        return cls(st.st_dev, st.st_ino, st.st_size, header)

    def check(self, path: Path) -> tuple[str | None, FileMark]:
        """Why the file at ``path`` is no longer this database (None: it still is), and
        the mark to keep (the file may have grown: a checkpoint)."""
        try:
            now = FileMark.of(path)
        except FileNotFoundError:
            return "the database file was deleted", self
        except OSError as e:  # SQLite meets the same I/O error and says so
            log.debug("cannot check %s: %s", path, e)
            return None, self
        if (now.dev, now.ino) != (self.dev, self.ino):
            return "the database file was replaced", now
        if now.size < self.size:
            return f"the database file was truncated ({self.size} -> {now.size} bytes)", now
        if now.header[:len(self.header)] != self.header or (
                now.size > 0 and not now.header.startswith(SQLITE_MAGIC)):
            return "the database file was overwritten", now
        return None, now


def is_damage(exc: BaseException) -> bool:
    """Is this SQLite's word for a damaged file (SQLITE_CORRUPT, SQLITE_NOTADB)?"""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in DAMAGE_CODES


def storage_error(exc: BaseException) -> StorageError:
    """The StorageError for a failure of SQLite or of the file system."""
    if isinstance(exc, sqlite3.Error):
        full = getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
        return StorageError(str(exc) or type(exc).__name__, full=full)
    full = isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return StorageError(str(exc) or type(exc).__name__, full=full)


def open_checked(path: Path) -> tuple[sqlite3.Connection, Damage | None]:
    """Open the database, moving it aside first if it is damaged. Raises StorageError."""
    reason = damage_of(path)
    damage = None
    if reason is not None:
        salvage = read_salvage(path)
        damage = Damage(reason, move_aside(path), salvage)
        log.warning("%s", damage.message())
    try:
        return connect(path), damage
    except (sqlite3.Error, OSError) as e:
        raise storage_error(e) from e


def damage_of(path: Path) -> str | None:
    """Why the database at ``path`` is damaged, or None (missing counts as fine)."""
    try:
        if not path.exists():
            return None
        if path.stat().st_size == 0:
            return "empty file"
        conn = sqlite3.connect(path)
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        if getattr(e, "sqlite_errorcode", None) in DAMAGE_CODES:
            return str(e)
        raise storage_error(e) from e
    except OSError as e:
        raise storage_error(e) from e
    if rows == [("ok",)]:
        return None
    return str(rows[0][0]).splitlines()[0] if rows else "quick_check returned nothing"


def read_salvage(path: Path) -> Salvage | None:
    """The series mark and its last serials, if the damaged file still yields them."""
    try:
        conn = sqlite3.connect(path)
        try:
            return salvage_from(conn)
        finally:
            conn.close()
    except (sqlite3.Error, ValueError, KeyError, TypeError) as e:
        log.info("nothing salvaged from %s: %s", path, e)
        return None


def salvage_from(conn: sqlite3.Connection) -> Salvage | None:
    """The series mark and its last serials as ``conn`` reads them (raises sqlite3.Error,
    ValueError on a damaged file)."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'series_mark'").fetchone()
    if row is None:
        return None
    mark = str(row[0])
    series = SeriesMark.from_json(mark).series
    rows = conn.execute(
        "SELECT service, last FROM serial_counter WHERE series = ?", (series,)
    ).fetchall()
    return Salvage(mark, {str(s): int(n) for s, n in rows})


def merge_salvage(*found: Salvage | None) -> Salvage | None:
    """The first series mark found, and per service the highest serial any source knows
    in that series (so a number is never issued twice, whichever source was behind).

    >>> a = Salvage('{"series": 2}', {"A": 40})
    >>> merge_salvage(None, a, Salvage('{"series": 2}', {"A": 12, "B": 3})).last_numbers
    {'A': 40, 'B': 3}
    >>> merge_salvage(a, Salvage('{"series": 1}', {"A": 99})).last_numbers
    {'A': 40}
    """
    present = [s for s in found if s is not None]
    if not present:
        return None
    series = _series_of(present[0])
    numbers: dict[str, int] = {}
    for s in present:
        if _series_of(s) == series:
            for service, last in s.last_numbers.items():
                numbers[service] = max(numbers.get(service, 0), last)
    return Salvage(present[0].series_mark, numbers)


def _series_of(salvage: Salvage) -> object:
    try:
        return json.loads(salvage.series_mark).get("series")
    except (ValueError, AttributeError):
        return None


def move_aside(path: Path) -> Path:
    """Rename the database and its -wal/-shm with a damaged-<UTC time> suffix."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    try:
        for suffix in ("-wal", "-shm", ""):
            src = path.with_name(path.name + suffix)
            if src.exists():
                dst = target.with_name(target.name + suffix)
                src.rename(dst)
                secure_file(dst)
    except OSError as e:
        raise storage_error(e) from e
    return target
