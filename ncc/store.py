"""The NCC's store: SQLite (WAL) behind one small interface (``Store``), so that a PostgreSQL
backend can take its place for a national deployment (schema: docs/ncc.md).

Times are Unix seconds (REAL) inside; the views turn them into ISO 8601. The schema has a
version (``PRAGMA user_version``) and every release adds migrations, never edits old ones.

>>> s = SqliteStore(Path(tempfile.mkdtemp()) / "ncc.db")
>>> s.schema_version() == len(MIGRATIONS)
True
"""

from __future__ import annotations

import json
import sqlite3
import tempfile  # noqa: F401  (used by the doctest)
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from ncc.fastschema import dumps
from ncc.messages import EventMsg, HealthMsg, Message, QueueMsg, StatusMsg, parse_ts

MIGRATIONS: tuple[str, ...] = (
    # 1: the first release
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE node (
        site TEXT NOT NULL, node TEXT NOT NULL,
        online INTEGER, session INTEGER NOT NULL DEFAULT 0, status_at REAL,
        version TEXT, roles TEXT NOT NULL DEFAULT '[]',
        first_seen REAL NOT NULL, last_seen REAL NOT NULL,
        health TEXT, health_at REAL, devices TEXT NOT NULL DEFAULT '{}',
        epoch TEXT, clock_skew_s REAL,
        PRIMARY KEY (site, node)
    );
    CREATE TABLE status_history (
        id INTEGER PRIMARY KEY, site TEXT NOT NULL, node TEXT NOT NULL,
        online INTEGER NOT NULL, session INTEGER NOT NULL, ts TEXT NOT NULL, at REAL NOT NULL
    );
    CREATE INDEX status_history_node ON status_history (site, node, at);
    CREATE TABLE health_history (
        id INTEGER PRIMARY KEY, site TEXT NOT NULL, node TEXT NOT NULL, at REAL NOT NULL,
        ts TEXT NOT NULL, cpu_temp_c REAL, disk_free_mb REAL, backlog INTEGER
    );
    CREATE INDEX health_history_node ON health_history (site, node, at);
    CREATE INDEX health_history_at ON health_history (at);
    CREATE TABLE event (
        cursor INTEGER PRIMARY KEY AUTOINCREMENT,
        site TEXT NOT NULL, node TEXT NOT NULL, epoch TEXT NOT NULL, seq INTEGER NOT NULL,
        id TEXT NOT NULL, ts TEXT NOT NULL, day TEXT NOT NULL, type TEXT NOT NULL,
        data TEXT NOT NULL, received REAL NOT NULL,
        UNIQUE (site, node, epoch, seq)
    );
    CREATE INDEX event_site_day ON event (site, day, type);
    CREATE INDEX event_day ON event (day, site, type);
    CREATE INDEX event_received ON event (received);
    CREATE TABLE ack (
        site TEXT NOT NULL, node TEXT NOT NULL, epoch TEXT NOT NULL, seq INTEGER NOT NULL,
        PRIMARY KEY (site, node, epoch)
    );
    CREATE TABLE queue (site TEXT PRIMARY KEY, payload TEXT NOT NULL, at REAL NOT NULL);
    CREATE TABLE alarm (
        id INTEGER PRIMARY KEY, site TEXT NOT NULL, node TEXT, kind TEXT NOT NULL,
        detail TEXT NOT NULL, severity TEXT NOT NULL, state TEXT NOT NULL,
        since REAL NOT NULL, acked_by TEXT, acked_at REAL, cleared_at REAL
    );
    CREATE UNIQUE INDEX alarm_one_open ON alarm (site, ifnull(node, ''), kind)
        WHERE state != 'cleared';
    CREATE INDEX alarm_state ON alarm (state, site);
    CREATE TABLE alarm_history (
        id INTEGER PRIMARY KEY, alarm_id INTEGER NOT NULL REFERENCES alarm (id),
        at REAL NOT NULL, action TEXT NOT NULL, user TEXT, detail TEXT
    );
    CREATE TABLE silence (
        id INTEGER PRIMARY KEY, site TEXT NOT NULL, node TEXT, until REAL NOT NULL,
        user TEXT NOT NULL, reason TEXT NOT NULL, created REAL NOT NULL
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY, at REAL NOT NULL, user TEXT NOT NULL, action TEXT NOT NULL,
        target TEXT NOT NULL, result TEXT NOT NULL
    );
    """,
    # 2: the views read one site at a time (its open alarms)
    """
    CREATE INDEX alarm_open_site ON alarm (site, node) WHERE state != 'cleared';
    """,
)

HEALTH_DEVICES = ("printer", "embosser", "cells", "speaker")
PRUNE_CHUNK = 2000  # rows deleted per transaction, so ingest never waits long
DOWNSAMPLE_S = 900  # beyond the full-resolution window: one health row per 15 min


@dataclass(frozen=True)
class NodeRow:
    site: str
    node: str
    online: bool | None
    session: int
    status_at: float | None
    version: str | None
    roles: tuple[str, ...]
    first_seen: float
    last_seen: float
    health: dict[str, Any] | None
    health_at: float | None
    devices: dict[str, dict[str, Any]]
    epoch: str | None
    clock_skew_s: float | None


@dataclass(frozen=True)
class AlarmRow:
    id: int
    site: str
    node: str | None
    kind: str
    detail: str
    severity: str
    state: str
    since: float
    acked_by: str | None
    acked_at: float | None
    cleared_at: float | None


@dataclass(frozen=True)
class SilenceRow:
    id: int
    site: str
    node: str | None
    until: float
    user: str
    reason: str

    def covers(self, site: str, node: str | None) -> bool:
        return self.site == site and (self.node is None or self.node == node)


@dataclass(frozen=True)
class Ack:
    site: str
    node: str
    epoch: str
    seq: int


@dataclass
class BatchResult:
    stored: int = 0
    duplicates: int = 0
    stale_status: int = 0
    acks: list[Ack] = field(default_factory=list)
    nodes: set[tuple[str, str]] = field(default_factory=set)
    sites: set[str] = field(default_factory=set)


class Store(Protocol):
    """What the NCC needs from a database; ``SqliteStore`` is the embedded one."""

    def apply(self, batch: Sequence[Message]) -> BatchResult: ...
    def meta_get(self, key: str) -> str | None: ...
    def meta_set(self, key: str, value: str) -> None: ...
    def nodes(self, only: Iterable[tuple[str, str]] | None = None) -> list[NodeRow]: ...
    def contiguous(self, site: str, node: str, epoch: str = "") -> int: ...
    def seqs(self, site: str, node: str, epoch: str | None = None) -> list[int]: ...
    def events(self, *, site: str | None = None, node: str | None = None, after: int = 0,
               limit: int = 100, descending: bool = False) -> list[dict[str, Any]]: ...
    def health_history(self, site: str, node: str, since: float) -> list[dict[str, Any]]: ...
    def queues(self, sites: Iterable[str] | None = None) -> dict[str, dict[str, Any]]: ...
    def day_events(self, site: str, day: str) -> list[tuple[str, str, dict[str, Any]]]: ...
    def day_counts(self, day: str, sites: Iterable[str] | None = None
                   ) -> dict[str, dict[str, int]]: ...
    def open_alarm_counts(self, sites: Iterable[str] | None = None
                          ) -> dict[tuple[str, str | None], int]: ...
    def open_alarm_groups(self) -> list[tuple[str, str, str, int]]: ...
    def period_events(self, first_day: str, last_day: str) -> list[dict[str, Any]]: ...
    def period_mark(self, first_day: str, last_day: str) -> tuple[int, int]: ...
    def open_alarm(self, site: str, node: str | None, kind: str, detail: str, severity: str,
                   at: float) -> AlarmRow: ...
    def update_alarm_detail(self, alarm_id: int, detail: str) -> None: ...
    def clear_alarm(self, alarm_id: int, at: float) -> AlarmRow: ...
    def ack_alarm(self, alarm_id: int, user: str, at: float) -> AlarmRow: ...
    def alarm(self, alarm_id: int) -> AlarmRow | None: ...
    def alarms(self, *, open_only: bool, site: str | None = None, kind: str | None = None,
               limit: int | None = None) -> list[AlarmRow]: ...
    def add_silence(self, site: str, node: str | None, until: float, user: str, reason: str,
                    at: float) -> SilenceRow: ...
    def silences(self, now: float) -> list[SilenceRow]: ...
    def add_audit(self, at: float, user: str, action: str, target: str, result: str) -> None: ...
    def audit(self, limit: int) -> list[dict[str, Any]]: ...
    def prune(self, now: float, *, health_days: float, events_days: float,
              full_health_hours: float) -> int: ...
    def close(self) -> None: ...


DEVICE_EVENTS = frozenset({"device.fault", "device.recovered"})
KEYS_PER_QUERY = 500  # (site, node, epoch) keys per statement (4 variables each)
_INSERT_EVENT = ("INSERT OR IGNORE INTO event (site, node, epoch, seq, id, ts, day, type, data,"
                 " received) VALUES (?,?,?,?,?,?,?,?,?,?)")


def _event_row(e: EventMsg) -> tuple[Any, ...]:
    return (e.site, e.node, e.epoch, e.seq, e.id, e.ts, _day(e.ts), e.type,
            dumps(e.data), e.received)


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    return (items[i:i + size] for i in range(0, len(items), size))


def _day(ts: str) -> str:
    """The node's local day of an event (its ISO timestamp carries the +07:00 offset)."""
    return ts[:10]


class Readers:
    """Read-only connections to the store's file, lent one at a time to the views' reads.

    In WAL mode a reader sees the last commit and never waits for the writer: a page does
    not queue behind the ingest's batch transaction for the store's lock (a lock that the
    ingest, busy on a large fleet, takes again the moment it lets it go).
    """

    KEEP = 4  # idle connections kept; more are opened while many requests read at once

    def __init__(self, path: Path) -> None:
        self.path = path
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def read(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA query_only = 1")
            conn.execute("PRAGMA busy_timeout = 5000")
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            with self._lock:
                keep = not self._closed and len(self._idle) < self.KEEP
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class SqliteStore:
    """The embedded store: one writing connection behind one lock; WAL so readers of the
    file (the views' ``Readers``, backups, ``sqlite3`` on the command line) never block the
    writer nor wait for it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._migrate()
        # every node's row, parsed once at open and kept write-through (this store is the
        # node table's one writer): a batch stages its changes, writes them in a few
        # statements and keeps them here once committed
        self._view: dict[tuple[str, str], NodeRow] = {
            (r.site, r.node): r for r in self._read_nodes()}
        self._staged = _Staged()
        # the views read the node rows under their own lock, never waiting for a batch
        # (which holds the store's lock for its whole transaction); other reads go to
        # read-only connections
        self._view_lock = threading.Lock()
        self._readers = Readers(path)

    # --- schema ---------------------------------------------------------------------

    def schema_version(self) -> int:
        with self._lock:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        with self._lock:
            version = self.schema_version()
            if version > len(MIGRATIONS):
                raise RuntimeError(
                    f"{self.path}: schema version {version} is newer than this NCC "
                    f"({len(MIGRATIONS)}); upgrade the NCC"
                )
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                self._db.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\n"
                                       "COMMIT;")

    def close(self) -> None:
        self._readers.close()
        with self._lock:
            self._db.close()

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        """Rows of a read on a reader connection (the last commit; no store lock)."""
        return self._readers.read(sql, args)

    def _tx(self) -> _Transaction:
        return _Transaction(self._db, self._lock)

    # --- meta -----------------------------------------------------------------------

    def meta_get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def meta_set(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                             (key, value))

    # --- ingest ---------------------------------------------------------------------

    def apply(self, batch: Sequence[Message]) -> BatchResult:
        """Store a batch of received messages in one transaction, in their order (a run of
        events is inserted with one statement, each of their nodes updated once)."""
        result = BatchResult()
        touched: dict[tuple[str, str, str], list[int]] = {}
        run: list[EventMsg] = []
        try:
            with self._tx() as db:
                for msg in batch:
                    if isinstance(msg, EventMsg):
                        run.append(msg)
                        continue
                    if run:
                        self._events(db, run, result, touched)
                        run = []
                    if isinstance(msg, StatusMsg):
                        self._status(db, msg, result)
                    elif isinstance(msg, HealthMsg):
                        self._health(db, msg, result)
                    elif isinstance(msg, QueueMsg):
                        db.execute("INSERT OR REPLACE INTO queue (site, payload, at)"
                                   " VALUES (?,?,?)",
                                   (msg.site, json.dumps(msg.payload), msg.received))
                        result.sites.add(msg.site)
                if run:
                    self._events(db, run, result, touched)
                self._write_nodes(db)
                result.acks.extend(self._advance(db, touched))
            self._keep_nodes()
        finally:
            self._staged = _Staged()
        return result

    def _row(self, site: str, node: str) -> NodeRow | None:
        """The node's row as this batch left it so far."""
        key = (site, node)
        return self._staged.rows.get(key) or self._view.get(key)

    def _stage(self, site: str, node: str, **changes: Any) -> None:
        row = self._row(site, node)
        assert row is not None  # _touch made it
        self._staged.rows[(site, node)] = replace(row, **changes)
        self._staged.columns.setdefault((site, node), set()).update(changes)

    def _touch(self, db: sqlite3.Connection, site: str, node: str, at: float) -> None:
        """The node was heard from at ``at`` (a new node gets its row)."""
        key = (site, node)
        row = self._row(site, node)
        if row is None:
            self._staged.rows[key] = NodeRow(site, node, None, 0, None, None, (), at, at,
                                             None, None, {}, None, None)
            self._staged.new.add(key)
        seen = self._staged.seen
        seen[key] = max(at, seen.get(key, at), row.last_seen if row is not None else at)

    def _events(self, db: sqlite3.Connection, run: list[EventMsg], result: BatchResult,
                touched: dict[tuple[str, str, str], list[int]]) -> None:
        """A run of events: one INSERT for all; when some are already stored (a re-send),
        the run is undone and stored one by one (``_event``), so each is counted right."""
        for e in run:
            touched.setdefault((e.site, e.node, e.epoch), []).append(e.seq)
        db.execute("SAVEPOINT run")
        cur = db.executemany(_INSERT_EVENT, [_event_row(e) for e in run])
        if cur.rowcount != len(run):
            db.execute("ROLLBACK TO run")
            db.execute("RELEASE run")
            for e in run:
                self._event(db, e, result)
            return
        db.execute("RELEASE run")
        result.stored += len(run)
        nodes = self._nodes_seen(db, run)
        for e in run:
            if e.type in DEVICE_EVENTS:
                self._device_event(db, e)
        result.nodes.update(nodes)
        result.sites.update(site for site, _ in nodes)

    def _nodes_seen(self, db: sqlite3.Connection,
                    run: list[EventMsg]) -> list[tuple[str, str]]:
        """What ``_touch`` and the epoch update do for each stored event, once per node:
        first seen at its first event, last seen at the latest, the epoch of its last."""
        seen: dict[tuple[str, str], list[Any]] = {}
        for e in run:
            row = seen.get((e.site, e.node))
            if row is None:
                seen[(e.site, e.node)] = [e.received, e.received, e.epoch]
            else:
                row[1], row[2] = max(row[1], e.received), e.epoch
        for (site, node), (first, last, epoch) in seen.items():
            self._touch(db, site, node, first)
            self._touch(db, site, node, last)
            self._stage(site, node, epoch=epoch)
        return list(seen)

    def _event(self, db: sqlite3.Connection, e: EventMsg, result: BatchResult) -> bool:
        cur = db.execute(_INSERT_EVENT, _event_row(e))
        if cur.rowcount == 0:
            result.duplicates += 1
            return True  # a re-send: ack again, the node may have missed the last ack
        result.stored += 1
        self._touch(db, e.site, e.node, e.received)
        self._stage(e.site, e.node, epoch=e.epoch)
        if e.type in DEVICE_EVENTS:
            self._device_event(db, e)
        result.nodes.add((e.site, e.node))
        result.sites.add(e.site)
        return True

    def _device_event(self, db: sqlite3.Connection, e: EventMsg) -> None:
        devices = self._devices(db, e.site, e.node)
        name = str(e.data.get("device"))
        state = str(e.data.get("state") or ("ok" if e.type == "device.recovered" else "error"))
        detail = e.data.get("detail")
        devices[name] = {"state": state, "since": parse_ts(e.ts) or e.received,
                         "detail": None if detail is None else str(detail)}
        self._stage(e.site, e.node, devices=devices)

    def _devices(self, db: sqlite3.Connection, site: str, node: str) -> dict[str, Any]:
        row = self._row(site, node)
        return {} if row is None else dict(row.devices)

    def _status(self, db: sqlite3.Connection, s: StatusMsg, result: BatchResult) -> None:
        self._touch(db, s.site, s.node, s.received)
        row = self._row(s.site, s.node)
        assert row is not None
        if s.session < row.session or (s.session == row.session and s.online
                                       and row.online is False):
            # a late Will of an older session, or a birth replayed after its own Will
            result.stale_status += 1
            return
        result.nodes.add((s.site, s.node))
        if _same_status(row, s):
            return  # the retained status again (we reconnected): only last_seen moves
        self._stage(s.site, s.node, online=s.online, session=s.session, status_at=s.received,
                    version=s.version, roles=tuple(s.roles),
                    epoch=row.epoch if s.epoch is None else s.epoch)
        self._staged.status_history.append(
            (s.site, s.node, int(s.online), s.session, s.ts, s.received))
        result.sites.add(s.site)

    def _health(self, db: sqlite3.Connection, h: HealthMsg, result: BatchResult) -> None:
        self._touch(db, h.site, h.node, h.received)
        p = h.payload
        row = self._row(h.site, h.node)
        assert row is not None
        result.nodes.add((h.site, h.node))
        previous = row.health
        if h.retained and previous is not None and previous.get("ts") == p["ts"]:
            return  # the same retained health again (we reconnected): only last_seen moves
        node_ts = parse_ts(p["ts"])
        at = min(h.received, node_ts) if h.retained and node_ts is not None else h.received
        skew = None if h.retained or node_ts is None else node_ts - h.received
        devices = self._devices(db, h.site, h.node)
        for name, state in health_devices(p).items():
            old = devices.get(name)
            if old is None or old.get("state") != state:
                devices[name] = {"state": state, "since": at, "detail": None}
        self._stage(h.site, h.node, health=p, health_at=at, devices=devices,
                    version=p["version"],
                    clock_skew_s=row.clock_skew_s if skew is None else skew)
        system = p["system"]
        self._staged.health_history.append(
            (h.site, h.node, at, p["ts"], system.get("cpu_temp_c"),
             round(system["disk_free_bytes"] / 1e6, 1), p["outbox"]["backlog"]))
        result.sites.add(h.site)

    def _write_nodes(self, db: sqlite3.Connection) -> None:
        """This batch's node changes in a few statements (inside its transaction)."""
        st = self._staged
        for key, at in st.seen.items():
            row = st.rows.get(key)
            if row is not None and row.last_seen < at:
                st.rows[key] = replace(row, last_seen=at)
        if st.new:
            db.executemany(f"INSERT INTO node ({self._NODE_COLS}) VALUES ({_MARKS})",
                           [_node_values(st.rows[k]) for k in sorted(st.new)])
        groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for key, columns in st.columns.items():
            if key not in st.new:
                names = tuple(sorted(columns))
                row = st.rows[key]
                groups.setdefault(names, []).append(
                    (*(_column(row, c) for c in names), row.site, row.node))
        for names, values in groups.items():
            sets = ", ".join(f"{c} = ?" for c in names)
            db.executemany(f"UPDATE node SET {sets} WHERE site = ? AND node = ?", values)
        seen = [(at, k[0], k[1]) for k, at in st.seen.items()
                if k not in st.new and (k in st.rows or at > self._view[k].last_seen)]
        if seen:
            db.executemany("UPDATE node SET last_seen = max(last_seen, ?)"
                           " WHERE site = ? AND node = ?", seen)
        if st.status_history:
            db.executemany("INSERT INTO status_history (site, node, online, session, ts, at)"
                           " VALUES (?,?,?,?,?,?)", st.status_history)
        if st.health_history:
            db.executemany(
                "INSERT INTO health_history (site, node, at, ts, cpu_temp_c, disk_free_mb,"
                " backlog) VALUES (?,?,?,?,?,?,?)", st.health_history)

    def _keep_nodes(self) -> None:
        """The batch committed: its rows become the view."""
        st = self._staged
        for key, at in st.seen.items():
            row = st.rows.get(key) or self._view[key]
            st.rows[key] = row if row.last_seen >= at else replace(row, last_seen=at)
        with self._view_lock:
            self._view.update(st.rows)

    def _advance(self, db: sqlite3.Connection,
                 touched: dict[tuple[str, str, str], list[int]]) -> list[Ack]:
        """The new contiguous seq of each (site, node, epoch) the batch touched: from its
        stored ack through the batch's own seqs; the events table is read only where a seq
        stored earlier (after a gap) may continue it."""
        keys = sorted(touched)
        acked = self._acked(db, keys)
        reached: dict[tuple[str, str, str], int] = {}
        for key in keys:
            c = acked.get(key, 0)
            for seq in sorted(set(touched[key])):
                if seq == c + 1:
                    c = seq
                elif seq > c:
                    break
            reached[key] = c
        for key in self._continued(db, reached):
            reached[key] = self._advance_from(db, *key, reached[key])
        db.executemany("INSERT OR REPLACE INTO ack (site, node, epoch, seq) VALUES (?,?,?,?)",
                       [(*key, c) for key, c in reached.items()])
        return [Ack(*key, c) for key, c in reached.items()]

    def _acked(self, db: sqlite3.Connection,
               keys: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], int]:
        out: dict[tuple[str, str, str], int] = {}
        for chunk in _chunks(keys, KEYS_PER_QUERY):
            values = ",".join("(?,?,?)" for _ in chunk)
            for site, node, epoch, seq in db.execute(
                    f"WITH k (site, node, epoch) AS (VALUES {values})"
                    " SELECT a.site, a.node, a.epoch, a.seq FROM k JOIN ack a"
                    " ON a.site = k.site AND a.node = k.node AND a.epoch = k.epoch",
                    [x for key in chunk for x in key]):
                out[(site, node, epoch)] = int(seq)
        return out

    def _continued(self, db: sqlite3.Connection,
                   reached: dict[tuple[str, str, str], int]) -> list[tuple[str, str, str]]:
        """The keys whose next seq is stored already (it came before a gap was filled)."""
        out: list[tuple[str, str, str]] = []
        for chunk in _chunks(list(reached.items()), KEYS_PER_QUERY):
            values = ",".join("(?,?,?,?)" for _ in chunk)
            out += [(r[0], r[1], r[2]) for r in db.execute(
                f"WITH k (site, node, epoch, seq) AS (VALUES {values})"
                " SELECT k.site, k.node, k.epoch FROM k WHERE EXISTS (SELECT 1 FROM event e"
                " WHERE e.site = k.site AND e.node = k.node AND e.epoch = k.epoch"
                " AND e.seq = k.seq + 1)", [x for key, c in chunk for x in (*key, c)])]
        return out

    def _advance_from(self, db: sqlite3.Connection, site: str, node: str, epoch: str,
                      c: int) -> int:
        """The contiguous seq from ``c`` on, reading the stored seqs."""
        while True:
            seqs = [r[0] for r in db.execute(
                "SELECT seq FROM event WHERE site = ? AND node = ? AND epoch = ? AND seq > ?"
                " ORDER BY seq LIMIT 1000", (site, node, epoch, c))]
            for seq in seqs:
                if seq != c + 1:
                    break
                c = seq
            else:
                if len(seqs) == 1000:
                    continue
            return c

    # --- reads ----------------------------------------------------------------------

    _NODE_COLS = ("site, node, online, session, status_at, version, roles, first_seen,"
                  " last_seen, health, health_at, devices, epoch, clock_skew_s")

    def nodes(self, only: Iterable[tuple[str, str]] | None = None) -> list[NodeRow]:
        """Every node, or only the (site, node) pairs in ``only`` (those that exist); from
        the view kept in memory, never parsed again."""
        with self._view_lock:
            if only is None:
                return [self._view[k] for k in sorted(self._view)]
            return [r for k in only if (r := self._view.get(k)) is not None]

    def _read_nodes(self) -> list[NodeRow]:
        with self._lock:
            rows = self._db.execute(f"SELECT {self._NODE_COLS} FROM node").fetchall()
        return [
            NodeRow(r[0], r[1], None if r[2] is None else bool(r[2]), r[3], r[4], r[5],
                    tuple(json.loads(r[6])), r[7], r[8], None if r[9] is None else
                    json.loads(r[9]), r[10], json.loads(r[11]), r[12], r[13])
            for r in rows
        ]

    def contiguous(self, site: str, node: str, epoch: str = "") -> int:
        with self._lock:
            row = self._db.execute("SELECT seq FROM ack WHERE site = ? AND node = ? AND epoch = ?",
                                   (site, node, epoch)).fetchone()
        return 0 if row is None else int(row[0])

    def seqs(self, site: str, node: str, epoch: str | None = None) -> list[int]:
        sql = "SELECT seq FROM event WHERE site = ? AND node = ?"
        args: list[Any] = [site, node]
        if epoch is not None:
            sql, args = sql + " AND epoch = ?", [*args, epoch]
        with self._lock:
            return [int(r[0]) for r in self._db.execute(sql + " ORDER BY epoch, seq", args)]

    def events(self, *, site: str | None = None, node: str | None = None, after: int = 0,
               limit: int = 100, descending: bool = False) -> list[dict[str, Any]]:
        where: list[str] = ["cursor > ?"]
        args: list[Any] = [after]
        for column, value in (("site", site), ("node", node)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        order = "DESC" if descending else "ASC"
        rows = self._read(
            "SELECT cursor, site, node, epoch, seq, id, ts, type, data FROM event"
            f" WHERE {' AND '.join(where)} ORDER BY cursor {order} LIMIT ?", (*args, limit))
        return [{"cursor": r[0], "site": r[1], "node": r[2], "epoch": r[3], "seq": r[4],
                 "id": r[5], "ts": r[6], "type": r[7], "data": json.loads(r[8])} for r in rows]

    def health_history(self, site: str, node: str, since: float) -> list[dict[str, Any]]:
        rows = self._read(
            "SELECT at, cpu_temp_c, disk_free_mb, backlog FROM health_history"
            " WHERE site = ? AND node = ? AND at >= ? ORDER BY at", (site, node, since))
        return [{"at": r[0], "cpu_temp_c": r[1], "disk_free_mb": r[2], "backlog": r[3]}
                for r in rows]

    def queues(self, sites: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """site -> its last queue snapshot; every site's, or only those of ``sites``."""
        rows = self._by_sites("SELECT site, payload FROM queue", "", sites)
        return {r[0]: json.loads(r[1]) for r in rows}

    def _by_sites(self, sql: str, tail: str, sites: Iterable[str] | None,
                  args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """``sql`` run for every site, or for ``sites`` only (``site IN (...)`` in chunks, added
        to its WHERE clause if it has one), then ``tail`` (GROUP BY ...)."""
        if sites is None:
            return self._read(sql + tail, args)
        wanted, out = sorted(set(sites)), []
        joiner = " AND" if " WHERE " in sql else " WHERE"
        for i in range(0, len(wanted), 400):
            chunk = wanted[i:i + 400]
            marks = ",".join("?" * len(chunk))
            out += self._read(f"{sql}{joiner} site IN ({marks}){tail}", (*args, *chunk))
        return out

    def day_events(self, site: str, day: str) -> list[tuple[str, str, dict[str, Any]]]:
        """(type, ts, data) of the site's ticket events of one local day, in arrival order."""
        rows = self._read("SELECT type, ts, data FROM event WHERE site = ? AND day = ?"
                          " AND type LIKE 'ticket.%' ORDER BY cursor", (site, day))
        return [(r[0], r[1], json.loads(r[2])) for r in rows]

    def day_counts(self, day: str, sites: Iterable[str] | None = None
                   ) -> dict[str, dict[str, int]]:
        """site -> event type -> how many, for one local day (of every site, or ``sites``)."""
        rows = self._by_sites("SELECT site, type, count(*) FROM event WHERE day = ?",
                              " GROUP BY site, type", sites, (day,))
        out: dict[str, dict[str, int]] = {}
        for site, kind, n in rows:
            out.setdefault(site, {})[kind] = int(n)
        return out

    def period_events(self, first_day: str, last_day: str) -> list[dict[str, Any]]:
        """The events of local days ``first_day``..``last_day`` (inclusive), and the device
        events before them (the devices' state at the start); for ``ncc.impact``."""
        with self._lock:
            rows = self._db.execute(
                "SELECT site, node, epoch, seq, ts, type, data FROM event"
                " WHERE day BETWEEN ? AND ? OR (day < ? AND type LIKE 'device.%')"
                " ORDER BY cursor", (first_day, last_day, first_day)).fetchall()
        return [{"site": r[0], "node": r[1], "epoch": r[2], "seq": r[3], "ts": r[4],
                 "type": r[5], "data": json.loads(r[6])} for r in rows]

    def period_mark(self, first_day: str, last_day: str) -> tuple[int, int]:
        """(how many, newest cursor) of the events of those days: unchanged, so are they."""
        with self._lock:
            n, newest = self._db.execute(
                "SELECT count(*), ifnull(max(cursor), 0) FROM event WHERE day BETWEEN ? AND ?",
                (first_day, last_day)).fetchone()
        return int(n), int(newest)

    # --- alarms -----------------------------------------------------------------------

    _ALARM_COLS = ("id, site, node, kind, detail, severity, state, since, acked_by, acked_at,"
                   " cleared_at")

    def open_alarm(self, site: str, node: str | None, kind: str, detail: str, severity: str,
                   at: float) -> AlarmRow:
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO alarm (site, node, kind, detail, severity, state, since)"
                " VALUES (?,?,?,?,?, 'open', ?)", (site, node, kind, detail, severity, at))
            alarm_id = int(cur.lastrowid or 0)
            self._history(db, alarm_id, at, "opened", None, detail)
        return self._must(alarm_id)

    def update_alarm_detail(self, alarm_id: int, detail: str) -> None:
        with self._lock:
            self._db.execute("UPDATE alarm SET detail = ? WHERE id = ?", (detail, alarm_id))

    def clear_alarm(self, alarm_id: int, at: float) -> AlarmRow:
        with self._tx() as db:
            db.execute("UPDATE alarm SET state = 'cleared', cleared_at = ? WHERE id = ?",
                       (at, alarm_id))
            self._history(db, alarm_id, at, "cleared", None, None)
        return self._must(alarm_id)

    def ack_alarm(self, alarm_id: int, user: str, at: float) -> AlarmRow:
        with self._tx() as db:
            row = self.alarm(alarm_id)
            if row is None:
                raise KeyError(alarm_id)
            if row.state == "open":
                db.execute("UPDATE alarm SET state = 'acked', acked_by = ?, acked_at = ?"
                           " WHERE id = ?", (user, at, alarm_id))
                self._history(db, alarm_id, at, "acked", user, None)
        return self._must(alarm_id)

    def _history(self, db: sqlite3.Connection, alarm_id: int, at: float, action: str,
                 user: str | None, detail: str | None) -> None:
        db.execute("INSERT INTO alarm_history (alarm_id, at, action, user, detail)"
                   " VALUES (?,?,?,?,?)", (alarm_id, at, action, user, detail))

    def alarm_history(self, alarm_id: int) -> list[tuple[str, str | None]]:
        with self._lock:
            return [(r[0], r[1]) for r in self._db.execute(
                "SELECT action, user FROM alarm_history WHERE alarm_id = ? ORDER BY id",
                (alarm_id,))]

    def _must(self, alarm_id: int) -> AlarmRow:
        row = self.alarm(alarm_id)
        assert row is not None
        return row

    def alarm(self, alarm_id: int) -> AlarmRow | None:
        with self._lock:
            r = self._db.execute(f"SELECT {self._ALARM_COLS} FROM alarm WHERE id = ?",
                                 (alarm_id,)).fetchone()
        return None if r is None else AlarmRow(*r)

    def alarms(self, *, open_only: bool, site: str | None = None, kind: str | None = None,
               limit: int | None = None) -> list[AlarmRow]:
        """Newest first; ``limit`` None: all of them."""
        where: list[str] = ["1"]
        args: list[Any] = []
        if open_only:
            where.append("state != 'cleared'")
        for column, value in (("site", site), ("kind", kind)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        rows = self._read(
            f"SELECT {self._ALARM_COLS} FROM alarm WHERE {' AND '.join(where)}"
            " ORDER BY since DESC, id DESC LIMIT ?", (*args, -1 if limit is None else limit))
        return [AlarmRow(*r) for r in rows]

    def open_alarm_counts(self, sites: Iterable[str] | None = None
                          ) -> dict[tuple[str, str | None], int]:
        """(site, node or None) -> how many open (or acknowledged) alarms; of every site or
        of ``sites`` only (the partial index ``alarm_open_site``)."""
        rows = self._by_sites("SELECT site, node, count(*) FROM alarm WHERE state != 'cleared'",
                              " GROUP BY site, node", sites)
        return {(r[0], r[1]): int(r[2]) for r in rows}

    def open_alarm_groups(self) -> list[tuple[str, str, str, int]]:
        """(site, kind, severity, how many) of the open (or acknowledged) alarms."""
        rows = self._read(
            "SELECT site, kind, severity, count(*) FROM alarm WHERE state != 'cleared'"
            " GROUP BY site, kind, severity")
        return [(r[0], r[1], r[2], int(r[3])) for r in rows]

    def add_silence(self, site: str, node: str | None, until: float, user: str, reason: str,
                    at: float) -> SilenceRow:
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO silence (site, node, until, user, reason, created)"
                " VALUES (?,?,?,?,?,?)", (site, node, until, user, reason, at))
        return SilenceRow(int(cur.lastrowid or 0), site, node, until, user, reason)

    def silences(self, now: float) -> list[SilenceRow]:
        rows = self._read("SELECT id, site, node, until, user, reason FROM silence"
                          " WHERE until > ?", (now,))
        return [SilenceRow(*r) for r in rows]

    # --- audit ------------------------------------------------------------------------

    def add_audit(self, at: float, user: str, action: str, target: str, result: str) -> None:
        with self._lock:
            self._db.execute("INSERT INTO audit (at, user, action, target, result)"
                             " VALUES (?,?,?,?,?)", (at, user, action, target, result))

    def audit(self, limit: int) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT at, user, action, target, result FROM audit"
                                    " ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [{"at": r[0], "user": r[1], "action": r[2], "target": r[3], "result": r[4]}
                for r in rows]

    # --- retention ----------------------------------------------------------------------

    def prune(self, now: float, *, health_days: float, events_days: float,
              full_health_hours: float) -> int:
        """Enforce retention in small transactions; the number of rows deleted."""
        deleted = 0
        steps: Iterable[tuple[str, tuple[Any, ...]]] = (
            ("DELETE FROM health_history WHERE id IN (SELECT id FROM health_history"
             " WHERE at < ? LIMIT ?)", (now - health_days * 86400,)),
            ("DELETE FROM event WHERE cursor IN (SELECT cursor FROM event"
             " WHERE received < ? LIMIT ?)", (now - events_days * 86400,)),
            ("DELETE FROM status_history WHERE id IN (SELECT id FROM status_history"
             " WHERE at < ? LIMIT ?)", (now - events_days * 86400,)),
            ("DELETE FROM health_history WHERE id IN (SELECT id FROM health_history h"
             " WHERE at < ? AND id != (SELECT min(id) FROM health_history g"
             " WHERE g.site = h.site AND g.node = h.node"
             f" AND CAST(g.at / {DOWNSAMPLE_S} AS INTEGER) = CAST(h.at / {DOWNSAMPLE_S}"
             " AS INTEGER)) LIMIT ?)", (now - full_health_hours * 3600,)),
        )
        for sql, args in steps:
            while True:
                with self._lock:
                    n = self._db.execute(sql, (*args, PRUNE_CHUNK)).rowcount
                deleted += n
                if n < PRUNE_CHUNK:
                    break
        return deleted


_COLUMNS = tuple(f.strip() for f in SqliteStore._NODE_COLS.split(","))
_MARKS = ",".join("?" for _ in _COLUMNS)
_JSON_COLUMNS = {"roles", "health", "devices"}


@dataclass
class _Staged:
    """One batch's node changes, kept apart until the batch commits."""

    rows: dict[tuple[str, str], NodeRow] = field(default_factory=dict)
    columns: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    new: set[tuple[str, str]] = field(default_factory=set)
    seen: dict[tuple[str, str], float] = field(default_factory=dict)
    status_history: list[tuple[Any, ...]] = field(default_factory=list)
    health_history: list[tuple[Any, ...]] = field(default_factory=list)


def _column(row: NodeRow, name: str) -> Any:
    value = getattr(row, name)
    if name in _JSON_COLUMNS:
        return None if value is None else json.dumps(list(value) if name == "roles" else value)
    if name == "online":
        return None if value is None else int(value)
    return value


def _node_values(row: NodeRow) -> tuple[Any, ...]:
    return tuple(_column(row, c) for c in _COLUMNS)


def _same_status(row: NodeRow, s: StatusMsg) -> bool:
    """A status that says nothing new (a retained one the broker sent again)."""
    return (row.online is s.online and row.session == s.session and row.version == s.version
            and row.roles == tuple(s.roles) and (s.epoch is None or s.epoch == row.epoch))


class _Transaction:
    def __init__(self, db: sqlite3.Connection, lock: threading.RLock) -> None:
        self._db, self._lock = db, lock

    def __enter__(self) -> sqlite3.Connection:
        self._lock.acquire()
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
        finally:
            self._lock.release()


def health_devices(payload: dict[str, Any]) -> dict[str, str]:
    """Device states named in a health payload.

    >>> health_devices({"printer": "paper_out", "buttons": {"state": "stuck"}, "ts": "x",
    ...                 "storage": {"state": "full", "free_bytes": 0}})
    {'printer': 'paper_out', 'buttons': 'stuck', 'storage': 'full'}
    """
    out = {name: str(payload[name]) for name in HEALTH_DEVICES if isinstance(payload.get(name),
                                                                            str)}
    for name in ("buttons", "storage", "bpjs"):  # objects with a state of their own
        part = payload.get(name)
        if isinstance(part, dict) and isinstance(part.get("state"), str):
            out[name] = part["state"]
    return out
