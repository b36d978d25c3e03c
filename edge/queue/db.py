"""Opening the node's queue database with the settings that make it crash-safe.

The database holds patients' tickets: its directory is made 0700 and the file 0600
(SQLite gives its ``-wal`` and ``-shm`` files the database file's mode).

Each database has an *epoch*: a random id made with it and kept in its ``meta`` table.
Every outbox event carries it, so the NCC can tell a re-installed node (a new database
under the same site and node ids) from the old one (DESIGN.md, docs/mqtt.md).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
from importlib import resources
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
# The epoch of a database made before epochs existed (it already had events): its seqs
# continue the ones a v1 NCC counted by (site, node, seq), so v1 acks still apply to it.
LEGACY_EPOCH = "v1"


def secure_dir(path: Path) -> None:
    """Create ``path`` (and parents) if needed and make it 0700."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)


def secure_file(path: Path) -> None:
    """Make an existing file 0600 (a missing one is left alone)."""
    with contextlib.suppress(FileNotFoundError):
        os.chmod(path, FILE_MODE)


def _create_private(path: Path) -> None:
    """Create ``path`` empty and 0600 before SQLite opens it (SQLite would use 0644)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    os.close(fd)


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the queue database at ``path``.

    WAL with ``synchronous=FULL``: a transaction that returned from COMMIT survives a
    power cut; a half-written one is rolled back on the next open. Raises
    ``sqlite3.Error`` (or ``OSError``) when the file cannot be opened or written.
    """
    secure_dir(path.parent)
    created = not path.exists()
    if created:
        _create_private(path)
    for suffix in ("", "-wal", "-shm"):
        secure_file(path.with_name(path.name + suffix))
    try:
        return _open(path)
    except BaseException:
        if created:  # our own empty file, not a database: an empty one means damage later
            _remove_if_empty(path)
        raise


def _open(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=10000")
        schema = resources.files("edge.queue").joinpath("schema.sql").read_text(encoding="utf-8")
        conn.executescript(schema)
        _ensure_epoch(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _remove_if_empty(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.stat().st_size == 0:
            for suffix in ("-wal", "-shm", ""):
                path.with_name(path.name + suffix).unlink(missing_ok=True)


def _ensure_epoch(conn: sqlite3.Connection) -> None:
    """Give the database its epoch on first open (in one transaction with nothing else)."""
    if meta_get(conn, "epoch") is not None:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        if meta_get(conn, "epoch") is None:
            had_events = meta_get(conn, "last_seq") is not None
            meta_set(conn, "epoch", LEGACY_EPOCH if had_events else new_epoch())
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def new_epoch() -> str:
    """A random install identity: 16 hex digits (64 bits).

    >>> len(new_epoch()), new_epoch() != new_epoch()
    (16, True)
    """
    return secrets.token_hex(8)


def meta_get(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def meta_set(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
