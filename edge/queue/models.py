"""Values of the queue: tickets, their states, and what an issue returns."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from enum import StrEnum


class TicketState(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    COMPLETED = "completed"
    SKIPPED = "skipped"


class QueueError(Exception):
    """An action that the queue refuses (unknown service, nobody at the counter, …).

    The message is in Bahasa Indonesia-free developer English; callers turn it into
    speech or a command reply.
    """


@dataclass(frozen=True)
class Ticket:
    """One ticket as stored.

    >>> Ticket(1, 1, "2026-11-29", "A", "A-001", TicketState.WAITING, False, None, 0,
    ...        "2026-11-29T08:00:00+07:00").code
    'A'
    """

    id: int
    series: int
    day: str
    service: str
    number: str
    state: TicketState
    assisted: bool
    counter: int | None
    calls: int
    issued_at: str
    queue_pos: int = 0

    @property
    def code(self) -> str:
        return self.number.split("-", 1)[0]

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Ticket:
        return cls(
            id=row["id"],
            series=row["series"],
            day=row["day"],
            service=row["service"],
            number=row["number"],
            state=TicketState(row["state"]),
            assisted=bool(row["assisted"]),
            counter=row["counter"],
            calls=row["calls"],
            issued_at=row["issued_at"],
            queue_pos=row["queue_pos"],
        )


@dataclass(frozen=True)
class Issued:
    """A ticket just issued, and how many wait before it."""

    ticket: Ticket
    ahead: int


class StorageError(Exception):
    """The queue database cannot be opened or written: the disk is full, an I/O error, or
    the file is damaged (``damaged``: the engine has already moved it aside and goes on with
    a fresh one). Nothing of the action was stored; the caller apologises.

    >>> str(StorageError("database or disk is full", full=True))
    'database or disk is full'
    """

    def __init__(self, message: str, *, full: bool = False, damaged: bool = False) -> None:
        super().__init__(message)
        self.full = full
        self.damaged = damaged
