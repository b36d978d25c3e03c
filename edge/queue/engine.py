"""The queue engine: tickets and their events in SQLite, one transaction per action.

>>> import tempfile, pathlib
>>> from edge.config import load_config
>>> q = QueueEngine(pathlib.Path(tempfile.mkdtemp()) / "q.db", load_config(None))
>>> q.issue("A").ticket.number, q.issue("A").ahead
('A-001', 1)
>>> q.call_next(1).number
'A-001'

Storage failures (a full disk, an I/O error, a damaged file) raise ``StorageError``; the
engine then stays usable and the next action tries again, so the node recovers by itself
when space returns. A database that cannot even be opened at start is opened again by the
next action (``storage_error`` says why meanwhile).

A database damaged while the engine runs (SQLITE_CORRUPT/SQLITE_NOTADB, or the file
replaced, truncated or overwritten under it: checked before every action) is handled as at
start (``edge.queue.recovery``): moved aside, a fresh database with ``queue.reset`` and
``device.fault``, the numbers carried over from what the engine knows. The action that met
it raises ``StorageError`` with ``damaged`` set (nothing of it was stored); ``damage`` then
describes it, and the next action works on the fresh database.

A node that starts on a fresh database in the middle of a day continues that day's numbers
with ``continue_numbers``, fed from the site's retained ``queue`` snapshot (its ``issued``).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from edge.config import CounterConfig, NodeConfig
from edge.queue import outbox
from edge.queue.clock import Reading, SeriesMark, SystemClock, next_mark
from edge.queue.db import meta_get, meta_set
from edge.queue.models import Issued, QueueError, StorageError, Ticket, TicketState
from edge.queue.recovery import (
    Damage,
    FileMark,
    Salvage,
    is_damage,
    merge_salvage,
    move_aside,
    open_checked,
    salvage_from,
    storage_error,
)

log = logging.getLogger(__name__)


class Clock(Protocol):
    def read(self) -> Reading: ...


class QueueEngine:
    """Issue, call, recall, skip, complete and transfer tickets; thread-safe.

    Every method that changes state commits the change and its outbox event in one
    SQLite transaction, so a power cut never leaves one without the other.
    """

    def __init__(self, db_path: Path, config: NodeConfig, clock: Clock | None = None) -> None:
        self._config = config
        self._clock: Clock = clock or SystemClock()
        self._tz = ZoneInfo(config.timezone)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self.db_path = db_path
        self.damage: Damage | None = None  # the last damaged database found (and moved aside)
        self.storage_error: StorageError | None = None  # why the database is not open
        self._file: FileMark | None = None  # the open database's file, checked every action
        self._known: Salvage | None = None  # the series and last numbers of our commits
        self._unrestarted: Damage | None = None  # moved aside; the fresh database not yet made
        try:
            with self._lock:
                self._connection()
        except StorageError as e:
            log.error("queue database %s cannot be opened: %s", db_path, e)

    # --- the connection and transactions -------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        """The open connection, opening (and checking) the database if needed; under lock."""
        if self._closed:
            raise RuntimeError("the queue engine is closed")
        if self._conn is None:
            try:
                conn, damage = open_checked(self.db_path)
            except StorageError as e:
                self.storage_error = e
                raise
            conn.row_factory = sqlite3.Row
            try:
                self._begin(conn, damage or self._unrestarted)
            except (sqlite3.Error, OSError) as e:
                conn.close()
                self.storage_error = storage_error(e)
                raise self.storage_error from e
            self._conn, self.storage_error = conn, None
        return self._conn

    def _begin(self, conn: sqlite3.Connection, damage: Damage | None) -> None:
        """A database just opened: restart after damage, then remember the file and numbers."""
        if damage is not None:
            damage = Damage(damage.reason, damage.moved_to,
                            merge_salvage(self._known, damage.salvage))
            self._unrestarted = damage  # until the restart commits
            self._restart_after_damage(conn, damage)
            self.damage, self._unrestarted = damage, None
        self._known = salvage_from(conn)
        try:
            self._file = FileMark.of(self.db_path)
        except OSError as e:
            log.warning("cannot watch %s: %s", self.db_path, e)
            self._file = None

    def _verify(self) -> None:
        """Before an action: is the open database still the file at our path? (under lock)"""
        if self._file is None:
            return
        reason, self._file = self._file.check(self.db_path)
        if reason is not None:
            raise self._damaged(reason)

    def _damaged(self, reason: str) -> StorageError:
        """The open database is damaged: move it aside and open a fresh one, as at start.

        The numbers come from our own commits and the open connection (the file itself may
        be anything now). Returns the error for the action that met the damage.
        """
        conn, self._conn, self._file = self._conn, None, None
        assert conn is not None
        try:
            live = salvage_from(conn)
        except (sqlite3.Error, ValueError, KeyError, TypeError) as e:
            log.info("nothing salvaged from the open connection: %s", e)
            live = None
        try:
            damage = Damage(reason, move_aside(self.db_path), merge_salvage(self._known, live))
        except StorageError as e:  # cannot even rename it: the next open checks again
            log.error("queue database damaged (%s) and cannot be moved aside: %s", reason, e)
            return e
        finally:
            conn.close()  # after the rename: SQLite then neither checkpoints nor deletes
        log.error("%s", damage.message())
        self._unrestarted = damage
        try:
            self._connection()
        except StorageError as e:
            return e
        return StorageError(damage.message(), damaged=True)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; SQLite and file errors come out as StorageError."""
        with self._lock:
            conn = self._connection()
            self._verify()
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except (sqlite3.Error, OSError) as e:
                self._rollback(conn)
                raise self._failure(e) from e
            except BaseException:
                self._rollback(conn)
                raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._connection()
            self._verify()
            try:
                yield conn
            except sqlite3.Error as e:
                raise self._failure(e) from e

    def _failure(self, exc: sqlite3.Error | OSError) -> StorageError:
        """The StorageError to raise; a damaged file is first recovered from (under lock)."""
        if is_damage(exc) and self._conn is not None:
            return self._damaged(str(exc) or type(exc).__name__)
        return storage_error(exc)

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        """Roll back if a transaction is still open (SQLite ends some failed ones itself)."""
        if not conn.in_transaction:
            return
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error as e:  # the original error is the one that matters
            log.warning("rollback failed: %s", e)

    def _restart_after_damage(self, conn: sqlite3.Connection, damage: Damage) -> None:
        """First transaction of the fresh database: carry numbers over or start a series."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            reading = self._clock.read()
            ts = datetime.fromtimestamp(reading.wall, self._tz).isoformat(timespec="seconds")
            if damage.salvage is not None:
                mark = SeriesMark.from_json(damage.salvage.series_mark)
                for service, last in damage.salvage.last_numbers.items():
                    self._raise_floor(conn, mark.series, service, last)
            else:
                mark, _ = next_mark(None, reading, self._config.timezone)
            meta_set(conn, "series_mark", mark.to_json())
            outbox.append(conn, "queue.reset", {
                "series": mark.series, "day": mark.day, "reason": "damaged_database",
                "carried": damage.salvage is not None, "moved_aside": damage.moved_to.name,
            }, ts)
            outbox.append(conn, "device.fault", {
                "device": "storage", "state": "damaged", "detail": damage.message(),
            }, ts)
            conn.execute("COMMIT")
        except BaseException:
            self._rollback(conn)
            raise

    def _now(self, conn: sqlite3.Connection) -> tuple[SeriesMark, str]:
        """Advance the series mark (in the open transaction); return it and an ISO stamp."""
        reading = self._clock.read()
        stored = meta_get(conn, "series_mark")
        prev = SeriesMark.from_json(stored) if stored else None
        mark, new_series = next_mark(prev, reading, self._config.timezone)
        meta_set(conn, "series_mark", mark.to_json())
        ts = datetime.fromtimestamp(reading.wall, self._tz).isoformat(timespec="seconds")
        if new_series:
            data = {"series": mark.series, "day": mark.day, "reason": "new_day"}
            outbox.append(conn, "queue.reset", data, ts)
        return mark, ts

    def _series(self, conn: sqlite3.Connection) -> int:
        stored = meta_get(conn, "series_mark")
        return SeriesMark.from_json(stored).series if stored else 0

    def _mark(self, conn: sqlite3.Connection) -> SeriesMark | None:
        stored = meta_get(conn, "series_mark")
        return SeriesMark.from_json(stored) if stored else None

    # --- actions ------------------------------------------------------------------

    def issue(self, service: str, *, assisted: bool = False, source: str = "kiosk") -> Issued:
        """A new ticket for ``service``; numbers restart each local day."""
        if not self._service_known(service):
            self._unknown(service)
        with self._tx() as conn:
            mark, ts = self._now(conn)
            serial = self._next_serial(conn, mark.series, service)
            number = f"{service}-{serial:03d}"
            ahead = self._ahead_at_issue(conn, mark.series, service, assisted)
            cur = conn.execute(
                "INSERT INTO ticket (series, day, service, number, state, assisted, source,"
                " queue_pos, issued_at) VALUES (?, ?, ?, ?, 'waiting', ?, ?, ?, ?)",
                (mark.series, mark.day, service, number, int(assisted), source,
                 self._next_pos(conn), ts),
            )
            data = {"number": number, "service": service, "assisted": assisted,
                    "ahead": ahead, "day": mark.day, "source": source}
            outbox.append(conn, "ticket.issued", data, ts)
            ticket = self._get(conn, int(cur.lastrowid or 0))
            self._remember(mark, service, serial)
        return Issued(ticket, ahead)

    def _remember(self, mark: SeriesMark, service: str, serial: int) -> None:
        """Keep the last serial issued (a floor for a fresh database after damage)."""
        known = merge_salvage(Salvage(mark.to_json(), {service: serial}), self._known)
        self._known = known

    def call_next(self, counter: int) -> Ticket | None:
        """Finish what the counter serves and call the next waiting ticket, if any."""
        cfg = self._counter(counter)
        with self._tx() as conn:
            mark, ts = self._now(conn)
            current = self._current(conn, counter)
            if current is not None:
                self._finish(conn, current, TicketState.COMPLETED, "ticket.completed", ts)
            row = self._next_waiting(conn, mark.series, cfg)
            if row is None:
                return None
            conn.execute(
                "UPDATE ticket SET state = 'called', counter = ?, calls = 1, called_at = ?"
                " WHERE id = ?",
                (counter, ts, row["id"]),
            )
            data = {"number": row["number"], "service": row["service"], "counter": counter,
                    "assisted": bool(row["assisted"])}
            outbox.append(conn, "ticket.called", data, ts)
            return self._get(conn, row["id"])

    def recall(self, counter: int) -> Ticket:
        """Call the counter's current ticket again."""
        self._counter(counter)
        with self._tx() as conn:
            _, ts = self._now(conn)
            current = self._require_current(conn, counter)
            conn.execute("UPDATE ticket SET calls = calls + 1 WHERE id = ?", (current.id,))
            data = {"number": current.number, "counter": counter, "calls": current.calls + 1}
            outbox.append(conn, "ticket.recalled", data, ts)
            return self._get(conn, current.id)

    def skip(self, counter: int) -> Ticket:
        """The called patient did not come."""
        return self._end(counter, TicketState.SKIPPED, "ticket.skipped")

    def complete(self, counter: int) -> Ticket:
        """The counter has finished with its patient."""
        return self._end(counter, TicketState.COMPLETED, "ticket.completed")

    def transfer(self, counter: int, service: str) -> Ticket:
        """Send the counter's patient, same number, to the end of ``service``'s queue."""
        self._counter(counter)
        if not self._service_known(service):
            self._unknown(service)
        with self._tx() as conn:
            _, ts = self._now(conn)
            current = self._require_current(conn, counter)
            conn.execute(
                "UPDATE ticket SET state = 'waiting', service = ?, queue_pos = ?, counter = NULL"
                " WHERE id = ?",
                (service, self._next_pos(conn), current.id),
            )
            data = {"number": current.number, "from": current.service, "to": service,
                    "counter": counter}
            outbox.append(conn, "ticket.transferred", data, ts)
            return self._get(conn, current.id)

    def record(self, type_: str, data: dict[str, Any]) -> int:
        """An event with no queue state (help.requested, device.fault, …); returns its seq."""
        with self._tx() as conn:
            _, ts = self._now(conn)
            return outbox.append(conn, type_, data, ts)

    def continue_numbers(self, last_numbers: dict[str, int], *, day: str | None = None) -> bool:
        """Never issue again a number up to ``last_numbers[service]`` in today's series.

        For a node on a fresh database in the middle of a day: the site's retained queue
        snapshot says how far each service got. Idempotent and never lowering; unknown
        services and non-positive numbers are ignored. With ``day`` (YYYY-MM-DD, the day the
        numbers belong to), nothing happens unless it is the current series' day. Returns
        True when the numbers were applied.
        """
        with self._tx() as conn:
            mark, _ = self._now(conn)
            if day is not None and day != mark.day:
                return False
            for service, last in last_numbers.items():
                if self._service_known(service) and isinstance(last, int) and last > 0:
                    self._raise_floor(conn, mark.series, service, last)
                    self._remember(mark, service, last)
        return True

    # --- queries ------------------------------------------------------------------

    def last_numbers(self) -> tuple[str | None, dict[str, int]]:
        """The current series' day and the last serial issued per service in it."""
        with self._read() as conn:
            mark = self._mark(conn)
            if mark is None:
                return None, {}
            rows = conn.execute(
                "SELECT service, last FROM serial_counter WHERE series = ?", (mark.series,)
            ).fetchall()
        return mark.day, {r["service"]: int(r["last"]) for r in rows}

    def current(self, counter: int) -> Ticket | None:
        with self._read() as conn:
            return self._current(conn, counter)

    def find(self, number: str) -> Ticket | None:
        """The ticket ``number`` of the current series."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT * FROM ticket WHERE series = ? AND number = ?", (self._series(conn), number)
            ).fetchone()
        return None if row is None else Ticket.from_row(row)

    def ahead_of(self, ticket: Ticket) -> int:
        """How many waiting tickets will be called before ``ticket`` (0 once called)."""
        if ticket.state is not TicketState.WAITING:
            return 0
        with self._read() as conn:
            return self._ahead(conn, ticket)

    def waiting(self) -> dict[str, int]:
        """Waiting tickets per service in the current series."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT service, COUNT(*) AS n FROM ticket WHERE series = ? AND state = 'waiting'"
                " GROUP BY service",
                (self._series(conn),),
            ).fetchall()
        counts = {s.code: 0 for s in self._config.services}
        counts.update({r["service"]: r["n"] for r in rows})
        return counts

    def last_called(self) -> dict[str, Any] | None:
        """The most recent call of the current series: number, counter and when."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT number, counter, called_at FROM ticket WHERE series = ?"
                " AND called_at IS NOT NULL ORDER BY called_at DESC, id DESC LIMIT 1",
                (self._series(conn),),
            ).fetchone()
        if row is None:
            return None
        return {"number": row["number"], "counter": row["counter"], "ts": row["called_at"]}

    def serving(self) -> dict[int, Ticket | None]:
        return {c.number: self.current(c.number) for c in self._config.counters}

    def tickets(self) -> list[Ticket]:
        """Every ticket of every series, in issue order (for audits and tests)."""
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM ticket ORDER BY id").fetchall()
        return [Ticket.from_row(r) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # --- helpers ------------------------------------------------------------------

    def _service_known(self, service: str) -> bool:
        return any(s.code == service for s in self._config.services)

    def _unknown(self, service: str) -> None:
        raise QueueError(f"unknown service {service!r}")

    def _counter(self, counter: int) -> CounterConfig:
        try:
            return self._config.counter(counter)
        except KeyError:
            raise QueueError(f"unknown counter {counter!r}") from None

    def _get(self, conn: sqlite3.Connection, ticket_id: int) -> Ticket:
        row = conn.execute("SELECT * FROM ticket WHERE id = ?", (ticket_id,)).fetchone()
        return Ticket.from_row(row)

    def _next_serial(self, conn: sqlite3.Connection, series: int, service: str) -> int:
        conn.execute(
            "INSERT INTO serial_counter (series, service, last) VALUES (?, ?, 1)"
            " ON CONFLICT(series, service) DO UPDATE SET last = last + 1",
            (series, service),
        )
        row = conn.execute(
            "SELECT last FROM serial_counter WHERE series = ? AND service = ?", (series, service)
        ).fetchone()
        return int(row["last"])

    @staticmethod
    def _raise_floor(conn: sqlite3.Connection, series: int, service: str, last: int) -> None:
        conn.execute(
            "INSERT INTO serial_counter (series, service, last) VALUES (?, ?, ?)"
            " ON CONFLICT(series, service) DO UPDATE SET last = MAX(last, excluded.last)",
            (series, service, last),
        )

    def _next_pos(self, conn: sqlite3.Connection) -> int:
        pos = int(meta_get(conn, "queue_pos") or 0) + 1
        meta_set(conn, "queue_pos", str(pos))
        return pos

    def _prioritised(self, service: str) -> bool:
        """Does a counter serving ``service`` call assisted tickets first?"""
        return any(service in c.services and c.assisted_first for c in self._config.counters)

    def _ahead_at_issue(
        self, conn: sqlite3.Connection, series: int, service: str, assisted: bool
    ) -> int:
        only_assisted = assisted and self._prioritised(service)
        sql = "SELECT COUNT(*) FROM ticket WHERE series = ? AND service = ? AND state = 'waiting'"
        row = conn.execute(sql + (" AND assisted = 1" if only_assisted else ""), (series, service))
        return int(row.fetchone()[0])

    def _ahead(self, conn: sqlite3.Connection, t: Ticket) -> int:
        base = (
            "SELECT COUNT(*) FROM ticket WHERE series = ? AND service = ? AND state = 'waiting'"
        )
        args = (t.series, t.service)
        if self._prioritised(t.service):
            if t.assisted:
                sql = base + " AND assisted = 1 AND queue_pos < ?"
            else:
                sql = base + " AND (assisted = 1 OR queue_pos < ?)"
        else:
            sql = base + " AND queue_pos < ?"
        return int(conn.execute(sql, (*args, t.queue_pos)).fetchone()[0])

    def _next_waiting(
        self, conn: sqlite3.Connection, series: int, cfg: CounterConfig
    ) -> sqlite3.Row | None:
        marks = ",".join("?" for _ in cfg.services)
        order = "assisted DESC, queue_pos" if cfg.assisted_first else "queue_pos"
        row: sqlite3.Row | None = conn.execute(
            f"SELECT * FROM ticket WHERE series = ? AND state = 'waiting'"
            f" AND service IN ({marks}) ORDER BY {order} LIMIT 1",
            (series, *cfg.services),
        ).fetchone()
        return row

    def _current(self, conn: sqlite3.Connection, counter: int) -> Ticket | None:
        row = conn.execute(
            "SELECT * FROM ticket WHERE state = 'called' AND counter = ? ORDER BY id DESC",
            (counter,),
        ).fetchone()
        return None if row is None else Ticket.from_row(row)

    def _require_current(self, conn: sqlite3.Connection, counter: int) -> Ticket:
        current = self._current(conn, counter)
        if current is None:
            raise QueueError(f"counter {counter} is not serving anyone")
        return current

    def _finish(
        self, conn: sqlite3.Connection, t: Ticket, state: TicketState, type_: str, ts: str
    ) -> None:
        conn.execute(
            "UPDATE ticket SET state = ?, finished_at = ? WHERE id = ?", (state.value, ts, t.id)
        )
        outbox.append(conn, type_, {"number": t.number, "counter": t.counter}, ts)

    def _end(self, counter: int, state: TicketState, type_: str) -> Ticket:
        self._counter(counter)
        with self._tx() as conn:
            _, ts = self._now(conn)
            current = self._require_current(conn, counter)
            self._finish(conn, current, state, type_, ts)
            return self._get(conn, current.id)
