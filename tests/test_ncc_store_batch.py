"""``SqliteStore.apply`` stores a batch as it would store each message alone: the same rows,
counts, node rows and acks, whatever mix of new events, re-sends, gaps, epochs, device
events and statuses the batch holds (runs of events take one INSERT; a run with a re-send
is stored one by one)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ncc.messages import EventMsg, Message, StatusMsg
from ncc.store import SqliteStore

TS = "2026-11-30T08:00:00+07:00"


def ev(seq: int, node: str = "k1", epoch: str = "e1", at: float = 1000.0,
       kind: str = "help.requested", data: dict[str, Any] | None = None) -> EventMsg:
    return EventMsg("janti", node, epoch, seq, f"00000000-0000-4000-8000-{seq:012d}", TS, kind,
                    data or {}, at)


def birth(node: str, session: int, epoch: str | None, at: float) -> StatusMsg:
    return StatusMsg("janti", node, True, session, TS, "0.1.0", ("kiosk",), at, epoch)


def snapshot(store: SqliteStore) -> dict[str, Any]:
    con = sqlite3.connect(store.path)
    try:
        return {
            "events": con.execute("SELECT site, node, epoch, seq, id, ts, day, type, data,"
                                  " received FROM event ORDER BY site, node, epoch, seq"
                                  ).fetchall(),
            "nodes": con.execute("SELECT site, node, online, session, first_seen, last_seen,"
                                 " devices, epoch FROM node ORDER BY site, node").fetchall(),
            "acks": con.execute("SELECT * FROM ack ORDER BY site, node, epoch").fetchall(),
        }
    finally:
        con.close()


BATCHES: list[list[list[Message]]] = [
    # one node, in order, then a re-send in the middle of new ones
    [[ev(1), ev(2), ev(3)], [ev(4), ev(2), ev(5)]],
    # the same event twice in one batch; a gap filled by a later batch
    [[ev(1), ev(1), ev(3), ev(4)], [ev(2)]],
    # several nodes and epochs interleaved; received times out of order
    [[ev(1, "k1", at=5.0), ev(1, "k2", at=3.0), ev(2, "k1", at=4.0),
      ev(1, "k1", epoch="e2", at=6.0), ev(2, "k2", at=7.0)]],
    # device events among others: their order decides the device's state
    [[ev(1, kind="device.fault", data={"device": "printer", "state": "paper_out"}),
      ev(2), ev(3, kind="device.recovered", data={"device": "printer"}),
      ev(4, kind="device.fault", data={"device": "printer", "state": "offline"})]],
    # statuses between events: the node's epoch is the last one said, in order
    [[ev(1, epoch="old"), birth("k1", 2, "new", 1001.0), ev(1, epoch="new"),
      birth("k1", 3, "newer", 1002.0)],
     [birth("k1", 4, "x", 1003.0), ev(2, epoch="new"), ev(3, epoch="new")]],
    # a long gap: the events after it were stored long before (more than 1000)
    [[ev(s) for s in range(2, 1503)], [ev(1)]],
]


@pytest.mark.parametrize("batches", BATCHES)
def test_a_batch_is_stored_as_its_messages_one_by_one(tmp_path: Path,
                                                      batches: list[list[Message]]) -> None:
    together, alone = SqliteStore(tmp_path / "a.db"), SqliteStore(tmp_path / "b.db")
    for batch in batches:
        result = together.apply(batch)
        singles = [alone.apply([m]) for m in batch]
        assert (result.stored, result.duplicates) == (sum(r.stored for r in singles),
                                                     sum(r.duplicates for r in singles))
        assert result.nodes == set().union(*(r.nodes for r in singles))
        last = {(a.site, a.node, a.epoch): a.seq for r in singles for a in r.acks}
        assert {(a.site, a.node, a.epoch): a.seq for a in result.acks} == last
        assert snapshot(together) == snapshot(alone)


def test_acks_of_a_gap_filled_after_many_stored(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "ncc.db")
    store.apply([ev(s) for s in range(2, 2503)])
    assert store.contiguous("janti", "k1", "e1") == 0
    result = store.apply([ev(1)])
    assert [(a.epoch, a.seq) for a in result.acks] == [("e1", 2502)]
    assert store.contiguous("janti", "k1", "e1") == 2502
