"""The queue engine: numbering, calling order, events, and clocks that lie."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.config import load_config
from edge.queue.clock import Reading
from edge.queue.engine import QueueEngine
from edge.queue.models import QueueError, TicketState
from edge.queue.outbox import Outbox

WIB = ZoneInfo("Asia/Jakarta")


def at(text: str) -> float:
    """Epoch seconds of a local (WIB) time 'YYYY-MM-DD HH:MM'."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=WIB).timestamp()


@dataclass
class SettableClock:
    """The wall clock is whatever the test says; the monotonic one only moves forward."""

    wall: float = field(default_factory=lambda: at("2026-11-29 07:30"))
    mono: float = 1000.0
    boot_id: str = "boot-1"

    def read(self) -> Reading:
        return Reading(self.wall, self.mono, self.boot_id)

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


@pytest.fixture
def engine(tmp_path: Path, clock: SettableClock) -> QueueEngine:
    return QueueEngine(tmp_path / "queue.db", load_config(None), clock)


def numbers(engine: QueueEngine, service: str, n: int) -> list[str]:
    return [engine.issue(service).ticket.number for _ in range(n)]


def test_numbers_are_per_service_and_padded(engine: QueueEngine) -> None:
    assert numbers(engine, "A", 3) == ["A-001", "A-002", "A-003"]
    assert numbers(engine, "B", 2) == ["B-001", "B-002"]
    assert engine.issue("A").ticket.number == "A-004"


def test_ahead_counts_waiting_of_the_same_service(engine: QueueEngine) -> None:
    assert [engine.issue("A").ahead for _ in range(3)] == [0, 1, 2]
    assert engine.issue("B").ahead == 0
    engine.call_next(1)
    assert engine.issue("A").ahead == 2


@pytest.mark.parametrize(
    ("issued", "expected_order"),
    [
        # (service, assisted) in issue order -> order counter 1 (A, D; assisted first) calls
        ([("A", False), ("A", True), ("D", False)], ["A-002", "A-001", "D-001"]),
        ([("D", False), ("A", False)], ["D-001", "A-001"]),
        ([("A", False), ("B", False), ("A", False)], ["A-001", "A-002"]),
        ([("A", True), ("D", True), ("A", False)], ["A-001", "D-001", "A-002"]),
    ],
)
def test_call_order(engine: QueueEngine, issued: list[tuple[str, bool]],
                    expected_order: list[str]) -> None:
    for service, assisted in issued:
        engine.issue(service, assisted=assisted)
    called = []
    while (t := engine.call_next(1)) is not None:
        called.append(t.number)
    assert called == expected_order


def test_assisted_ahead_counts_only_assisted(engine: QueueEngine) -> None:
    engine.issue("A")
    engine.issue("A")
    assert engine.issue("A", assisted=True).ahead == 0
    late = engine.issue("A").ticket
    assert engine.ahead_of(late) == 3


def test_call_next_completes_the_current_ticket(engine: QueueEngine, tmp_path: Path) -> None:
    engine.issue("A")
    engine.issue("A")
    first = engine.call_next(1)
    assert first is not None and first.state is TicketState.CALLED
    engine.call_next(1)
    done = engine.find("A-001")
    assert done is not None and done.state is TicketState.COMPLETED
    types = [e.type for e in Outbox(tmp_path / "queue.db").unacked()]
    assert types == ["queue.reset", "ticket.issued", "ticket.issued", "ticket.called",
                     "ticket.completed", "ticket.called"]


def test_recall_skip_complete_transfer(engine: QueueEngine) -> None:
    engine.issue("A")
    engine.issue("A")
    engine.call_next(1)
    assert engine.recall(1).calls == 2
    assert engine.skip(1).state is TicketState.SKIPPED
    with pytest.raises(QueueError, match="not serving"):
        engine.recall(1)
    engine.call_next(1)
    moved = engine.transfer(1, "B")
    assert (moved.number, moved.service, moved.state) == ("A-002", "B", TicketState.WAITING)
    assert engine.current(1) is None
    at_two = engine.call_next(2)
    assert at_two is not None and at_two.number == "A-002"
    assert engine.complete(2).state is TicketState.COMPLETED


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda q: q.issue("Z"), "unknown service"),
        (lambda q: q.call_next(9), "unknown counter"),
        (lambda q: q.complete(1), "not serving"),
        (lambda q: q.skip(2), "not serving"),
    ],
)
def test_refused_actions_change_nothing(engine: QueueEngine, tmp_path: Path,
                                        action, message: str) -> None:  # type: ignore[no-untyped-def]
    engine.issue("A")
    before = Outbox(tmp_path / "queue.db").last_seq()
    with pytest.raises(QueueError, match=message):
        action(engine)
    assert Outbox(tmp_path / "queue.db").last_seq() == before


def test_outbox_seq_is_gap_free_and_acks_shrink_it(engine: QueueEngine, tmp_path: Path) -> None:
    numbers(engine, "A", 5)
    engine.call_next(1)
    box = Outbox(tmp_path / "queue.db")
    events = box.unacked()
    assert [e.seq for e in events] == list(range(1, 8))
    envelope = events[1].envelope("janti", "demo")
    assert envelope["data"]["number"] == "A-001" and envelope["seq"] == 2
    box.ack(3, epoch=box.epoch)
    box.ack(2, epoch=box.epoch)  # a late, lower ack changes nothing
    assert [e.seq for e in box.unacked()] == [4, 5, 6, 7]
    assert box.backlog() == 4
    engine.issue("A")
    assert box.unacked()[-1].seq == 8


def test_numbers_restart_at_local_midnight(engine: QueueEngine, clock: SettableClock) -> None:
    clock.wall = at("2026-11-29 23:58")
    assert numbers(engine, "A", 2) == ["A-001", "A-002"]
    clock.advance(5 * 60)  # 00:03 WIB next day: wall and monotonic both moved
    assert engine.issue("A").ticket.number == "A-001"
    assert engine.issue("A").ticket.day == "2026-11-30"


def test_clock_set_backwards_never_reuses_numbers(engine: QueueEngine,
                                                  clock: SettableClock) -> None:
    numbers(engine, "A", 3)
    clock.wall -= 3 * 86_400  # someone set the clock three days back
    clock.mono += 10
    assert numbers(engine, "A", 2) == ["A-004", "A-005"]
    all_numbers = [t.number for t in engine.tickets()]
    assert len(all_numbers) == len(set(all_numbers))


def test_ntp_step_forward_within_one_boot_continues_the_series(
    engine: QueueEngine, clock: SettableClock
) -> None:
    # booted with yesterday evening's time (fake-hwclock), issued, then NTP corrects it
    clock.wall = at("2026-11-28 17:10")
    assert numbers(engine, "A", 2) == ["A-001", "A-002"]
    clock.wall = at("2026-11-29 07:45")
    clock.mono += 60
    assert engine.issue("A").ticket.number == "A-003"
    clock.advance(86_400)  # a real day later: a new series
    assert engine.issue("A").ticket.number == "A-001"


def test_new_boot_on_a_new_day_restarts(tmp_path: Path, clock: SettableClock) -> None:
    q = QueueEngine(tmp_path / "queue.db", load_config(None), clock)
    numbers(q, "A", 2)
    q.close()
    clock.wall += 24 * 3600
    clock.mono = 5.0
    clock.boot_id = "boot-2"
    q2 = QueueEngine(tmp_path / "queue.db", load_config(None), clock)
    assert q2.issue("A").ticket.number == "A-001"


def test_state_survives_reopening(tmp_path: Path, clock: SettableClock) -> None:
    q = QueueEngine(tmp_path / "queue.db", load_config(None), clock)
    numbers(q, "A", 2)
    q.call_next(1)
    q.close()
    q2 = QueueEngine(tmp_path / "queue.db", load_config(None), clock)
    assert q2.issue("A").ticket.number == "A-003"
    current = q2.current(1)
    assert current is not None and current.number == "A-001"
    assert q2.waiting() == {"A": 2, "B": 0, "C": 0, "D": 0}


def test_number_uniqueness_is_enforced_by_the_database(engine: QueueEngine) -> None:
    t = engine.issue("A").ticket
    conn = sqlite3.connect(engine.db_path)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO ticket (series, day, service, number, state, assisted, source,"
            " queue_pos, issued_at) VALUES (?, ?, 'A', ?, 'waiting', 0, 'x', 99, 'x')",
            (t.series, t.day, t.number),
        )
