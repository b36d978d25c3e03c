"""The outbox: events written with their state change, kept until the NCC acks them.

Writing happens inside the queue engine's transactions (``append``); reading and acking
happen on the MQTT thread through its own ``Outbox`` connection.

Which acks count (the node's side of the epoch rule, docs/mqtt.md):

- an ack ``{"epoch", "seq"}`` is applied only when ``epoch`` is this database's and ``seq``
  is at most the highest seq this ``Outbox`` has handed out for sending since it was
  opened (an ack can never cover an event that was not sent: it is ignored, never capped);
- an ack without ``epoch`` (contract v1) is applied only by a database that predates
  epochs (epoch ``"v1"``: its seqs are the ones a v1 NCC counted), with the same limit.
  A database made with its own epoch ignores every v1 ack: it can only be a retained ack
  of an earlier life of this node (a re-installed SD card, a damaged database moved aside).

>>> import tempfile, pathlib
>>> from edge.queue.db import connect
>>> path = pathlib.Path(tempfile.mkdtemp()) / "q.db"
>>> conn = connect(path)
>>> _ = conn.execute("BEGIN IMMEDIATE")
>>> append(conn, "help.requested", {}, "2026-11-29T08:00:00+07:00")
1
>>> _ = conn.execute("COMMIT")
>>> box = Outbox(path)
>>> [e.seq for e in box.unacked()], box.backlog()
([1], 1)
>>> box.ack(1, epoch="another-life"), box.ack(1, epoch=None), box.backlog()
(False, False, 1)
>>> box.ack(1, epoch=box.epoch), box.backlog()
(True, 0)
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.queue.db import LEGACY_EPOCH, connect, meta_get, meta_set


@dataclass(frozen=True)
class Event:
    """One event of the node, as kept in the outbox."""

    seq: int
    id: str
    ts: str
    type: str
    data: dict[str, Any]
    epoch: str

    def envelope(self, site: str, node: str) -> dict[str, Any]:
        """The event payload of the MQTT contract (DESIGN.md)."""
        return {
            "id": self.id,
            "site": site,
            "node": node,
            "epoch": self.epoch,
            "seq": self.seq,
            "ts": self.ts,
            "type": self.type,
            "data": self.data,
        }


def append(conn: sqlite3.Connection, type_: str, data: dict[str, Any], ts: str) -> int:
    """Add an event inside the caller's open transaction; returns its seq."""
    seq = int(meta_get(conn, "last_seq") or 0) + 1
    conn.execute(
        "INSERT INTO outbox (seq, id, ts, type, data) VALUES (?, ?, ?, ?, ?)",
        (seq, str(uuid.uuid4()), ts, type_, json.dumps(data, ensure_ascii=False)),
    )
    meta_set(conn, "last_seq", str(seq))
    return seq


class Outbox:
    """Reader and acker of the outbox; use from one thread (the MQTT link's)."""

    def __init__(self, db_path: Path) -> None:
        self._path = db_path
        self._conn = connect(db_path)
        self._conn.row_factory = sqlite3.Row
        self._file = _identity(db_path)
        self._epoch = str(meta_get(self._conn, "epoch"))
        self._handed_out = self.acked_seq()

    def moved(self) -> bool:
        """Is the file at our path no longer the one we opened (a damaged database moved
        aside by the queue engine, a fresh one in its place)? Then reopen."""
        return _identity(self._path) != self._file

    @property
    def epoch(self) -> str:
        """This database's install identity, in every event envelope and echoed by acks."""
        return self._epoch

    def unacked(self, limit: int = 500, *, after: int = 0) -> list[Event]:
        """Unacked events in seq order, only those with seq > ``after`` (already sent).

        What is returned counts as handed out for sending: acks up to it are accepted.
        """
        rows = self._conn.execute(
            "SELECT seq, id, ts, type, data FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
            (max(self.acked_seq(), after), limit),
        ).fetchall()
        events = [Event(r["seq"], r["id"], r["ts"], r["type"], json.loads(r["data"]),
                        self._epoch) for r in rows]
        if events:
            self._handed_out = max(self._handed_out, events[-1].seq)
        return events

    def accepts(self, seq: int, *, epoch: str | None) -> bool:
        """Would an ack ``{epoch, seq}`` apply here (see the module's rule)?"""
        if epoch is None:
            if self._epoch != LEGACY_EPOCH:
                return False
        elif epoch != self._epoch:
            return False
        return seq <= self._handed_out

    def ack(self, seq: int, *, epoch: str | None) -> bool:
        """The NCC has every event of ``epoch`` up to ``seq``: forget them.

        Returns False when the ack is not for this database or covers events not sent
        (it is then ignored whole). A lower ack than the last one changes nothing.
        """
        if not self.accepts(seq, epoch=epoch):
            return False
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            if seq > int(meta_get(self._conn, "acked_seq") or 0):
                meta_set(self._conn, "acked_seq", str(seq))
                self._conn.execute("DELETE FROM outbox WHERE seq <= ?", (seq,))
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        return True

    def acked_seq(self) -> int:
        return int(meta_get(self._conn, "acked_seq") or 0)

    def last_seq(self) -> int:
        return int(meta_get(self._conn, "last_seq") or 0)

    def backlog(self) -> int:
        return self.last_seq() - self.acked_seq()

    def meta_get(self, key: str) -> str | None:
        return meta_get(self._conn, key)

    def meta_set(self, key: str, value: str) -> None:
        meta_set(self._conn, key, value)

    def close(self) -> None:
        self._conn.close()


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino
