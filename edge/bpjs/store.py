"""BPJS patients and pending calls, in the node's queue database.

Staff register a ticket's patient (``register``) or cancel it (``cancel``); SQL triggers
add a ``panggil`` whenever a registered ticket is called or skipped, in the same
transaction as the queue event. The sync thread takes pending calls in order
(``next_pending``) and records each answer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

from edge.bpjs.calls import Call, Patient
from edge.queue.db import connect


class RegistrationError(ValueError):
    """The ticket cannot be registered or cancelled (unknown today, already registered)."""


@dataclass(frozen=True)
class Pending:
    """One call still to make, with what its body needs."""

    id: int
    call: Call
    number: str
    service: str
    day: str
    patient: Patient
    present: bool
    reason: str
    event_ts: str
    attempts: int


@dataclass(frozen=True)
class Tally:
    pending: int
    accepted: int
    refused: int


def open_store(db_path: Path) -> sqlite3.Connection:
    """The queue database with the BPJS tables and triggers added."""
    conn = connect(db_path)
    conn.row_factory = sqlite3.Row
    sql = resources.files("edge.bpjs").joinpath("schema.sql").read_text(encoding="utf-8")
    conn.executescript(sql)
    return conn


class BpjsStore:
    """Registration (staff's thread) and the pending calls (the sync thread); one each."""

    def __init__(self, db_path: Path) -> None:
        self._conn = open_store(db_path)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    def register(self, number: str, patient: Patient, *, now: datetime) -> None:
        """Tie today's ticket ``number`` to a BPJS patient: queue ``add`` (and the calls
        already made, when staff register after the call)."""
        patient.check()
        with self._tx() as conn:
            ticket = self._ticket(conn, number)
            try:
                cur = conn.execute(
                    "INSERT INTO bpjs_patient (series, number, service, day, nomorkartu, nik,"
                    " nohp, norm, registered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (ticket["series"], number, ticket["service"], ticket["day"],
                     patient.nomorkartu, patient.nik, patient.nohp, patient.norm,
                     now.isoformat(timespec="seconds")),
                )
            except sqlite3.IntegrityError:
                raise RegistrationError(f"{number} is already registered for BPJS") from None
            pid = int(cur.lastrowid or 0)
            self._queue(conn, pid, Call.ADD, now.isoformat(timespec="seconds"))
            if ticket["called_at"] is not None:
                self._queue(conn, pid, Call.PANGGIL, ticket["called_at"], present=True)
            if ticket["state"] == "skipped":
                self._queue(conn, pid, Call.PANGGIL, ticket["finished_at"], present=False)

    def cancel(self, number: str, reason: str, *, now: datetime) -> None:
        """Staff cancel today's registered ticket ``number`` at BPJS (``batal``)."""
        if not reason.strip():
            raise RegistrationError("a reason (alasan) is needed to cancel")
        with self._tx() as conn:
            ticket = self._ticket(conn, number)
            row = conn.execute(
                "SELECT id FROM bpjs_patient WHERE series = ? AND number = ?",
                (ticket["series"], number),
            ).fetchone()
            if row is None:
                raise RegistrationError(f"{number} is not registered for BPJS")
            self._queue(conn, row["id"], Call.BATAL, now.isoformat(timespec="seconds"),
                        reason=reason.strip())

    def _ticket(self, conn: sqlite3.Connection, number: str) -> sqlite3.Row:
        row = conn.execute(
            "SELECT series, service, day, state, called_at, finished_at FROM ticket"
            " WHERE number = ? ORDER BY id DESC LIMIT 1", (number,),
        ).fetchone()
        if row is None:
            raise RegistrationError(f"no ticket {number} today")
        return row

    @staticmethod
    def _queue(conn: sqlite3.Connection, pid: int, call: Call, ts: str, *,
               present: bool | None = None, reason: str | None = None) -> None:
        conn.execute(
            "INSERT INTO bpjs_request (patient, call, present, reason, event_ts)"
            " VALUES (?, ?, ?, ?, ?)", (pid, call.value, present, reason, ts),
        )

    # --- the sync thread's side ------------------------------------------------------

    def next_pending(self) -> Pending | None:
        row = self._conn.execute(
            "SELECT r.id, r.call, r.present, r.reason, r.event_ts, r.attempts, p.number,"
            " p.service, p.day, p.nomorkartu, p.nik, p.nohp, p.norm FROM bpjs_request r"
            " JOIN bpjs_patient p ON p.id = r.patient WHERE r.state = 'pending'"
            " ORDER BY r.id LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return Pending(
            id=row["id"], call=Call(row["call"]), number=row["number"],
            service=row["service"], day=row["day"],
            patient=Patient(row["nomorkartu"], row["nik"], row["nohp"], row["norm"]),
            present=bool(row["present"]), reason=row["reason"] or "",
            event_ts=row["event_ts"], attempts=row["attempts"],
        )

    def answered(self, rid: int, *, accepted: bool, code: int | None, message: str,
                 now: datetime) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE bpjs_request SET state = ?, code = ?, message = ?, answered_at = ?,"
                " attempts = attempts + 1 WHERE id = ?",
                ("accepted" if accepted else "refused", code, message,
                 now.isoformat(timespec="seconds"), rid),
            )

    def failed(self, rid: int, error: str) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE bpjs_request SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                (error, rid),
            )

    def tally(self, *, refused_since: str = "") -> Tally:
        """Calls by state; refusals only from ``refused_since`` on (an ISO date or time)."""
        counts = dict(self._conn.execute(
            "SELECT state, count(*) FROM bpjs_request WHERE state != 'refused'"
            " OR answered_at >= ? GROUP BY state", (refused_since,),
        ).fetchall())
        return Tally(counts.get("pending", 0), counts.get("accepted", 0),
                     counts.get("refused", 0))

    def purge(self, *, before_day: str) -> int:
        """Forget patients of days before ``before_day`` whose calls are all answered."""
        with self._tx() as conn:
            old = "SELECT id FROM bpjs_patient WHERE day < ? AND id NOT IN" \
                  " (SELECT patient FROM bpjs_request WHERE state = 'pending')"
            conn.execute(f"DELETE FROM bpjs_request WHERE patient IN ({old})", (before_day,))
            cur = conn.execute(f"DELETE FROM bpjs_patient WHERE id IN ({old})", (before_day,))
            return cur.rowcount

    def close(self) -> None:
        self._conn.close()
