"""The install identity (epoch): made with the database, in every event, echoed by acks.

A re-installed node (a fresh database under the same site and node ids) must not lose its
events to the previous life's retained ack, and must not issue a number of the day again.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from brokers import BrokerPair, MqttProbe, wait_until
from test_mqtt_delivery import ingest_at
from test_mqtt_link import TOPICS, LiveNode, payloads_on
from test_node import Running
from test_queue_engine import SettableClock

from contract.payloads import encode
from contract.schemas import Schemas
from edge.config import load_config
from edge.queue import outbox
from edge.queue.db import LEGACY_EPOCH, connect
from edge.queue.engine import QueueEngine
from edge.queue.outbox import Outbox

SCHEMAS = Schemas.load()


def db_with_events(path: Path, n: int) -> None:
    conn = connect(path)
    conn.execute("BEGIN IMMEDIATE")
    for _ in range(n):
        outbox.append(conn, "help.requested", {}, "2026-11-29T08:00:00+07:00")
    conn.execute("COMMIT")
    conn.close()


def test_epoch_is_made_with_the_database_and_kept(tmp_path: Path) -> None:
    db_with_events(tmp_path / "a.db", 2)
    db_with_events(tmp_path / "b.db", 2)
    a, b = Outbox(tmp_path / "a.db"), Outbox(tmp_path / "b.db")
    assert re.fullmatch(r"[0-9a-f]{16}", a.epoch) and a.epoch != b.epoch
    assert Outbox(tmp_path / "a.db").epoch == a.epoch  # the same database, the same epoch
    envelope = a.unacked()[0].envelope("janti", "kiosk-1")
    assert envelope["epoch"] == a.epoch and envelope["seq"] == 1
    assert SCHEMAS.errors("event", envelope) == []


def test_ack_of_another_epoch_or_not_sent_is_ignored_whole(tmp_path: Path) -> None:
    """Was: Outbox.ack capped 100005 to the last seq and deleted unsent rows."""
    db_with_events(tmp_path / "q.db", 6)
    box = Outbox(tmp_path / "q.db")
    assert box.ack(100005, epoch=None) is False  # a previous life's v1 ack
    assert box.ack(3, epoch="0123456789abcdef") is False  # another epoch
    assert box.ack(3, epoch=box.epoch) is False  # nothing handed out yet
    assert [e.seq for e in box.unacked(4)] == [1, 2, 3, 4]
    assert box.ack(5, epoch=box.epoch) is False  # above what was handed out: not capped
    assert box.backlog() == 6
    assert box.ack(3, epoch=box.epoch) is True
    assert box.ack(2, epoch=box.epoch) is True  # lower: applies, changes nothing
    assert (box.acked_seq(), box.backlog()) == (3, 3)
    assert box.ack(3, epoch=None) is False  # v1 acks never apply to a database with an epoch


def test_v1_ack_applies_only_to_a_database_older_than_epochs(tmp_path: Path) -> None:
    db_with_events(tmp_path / "q.db", 4)
    with sqlite3.connect(tmp_path / "q.db") as conn:  # as a node before this change left it
        conn.execute("DELETE FROM meta WHERE key = 'epoch'")
    box = Outbox(tmp_path / "q.db")
    assert box.epoch == LEGACY_EPOCH
    box.unacked()
    assert box.ack(100005, epoch=None) is False  # still never above what was sent
    assert box.ack(2, epoch=None) is True
    assert box.ack(4, epoch=LEGACY_EPOCH) is True and box.backlog() == 0


def test_continue_numbers_raises_the_floor_for_today_only(tmp_path: Path) -> None:
    clock = SettableClock()
    engine = QueueEngine(tmp_path / "queue.db", load_config(None), clock)
    assert engine.continue_numbers({"A": 12, "B": 3, "Z": 40, "C": 0}) is True
    assert engine.continue_numbers({"A": 12}) is True  # idempotent
    assert engine.issue("A").ticket.number == "A-013"
    assert engine.continue_numbers({"A": 5, "B": 2}) is True  # never lowers
    assert [engine.issue(s).ticket.number for s in "ABC"] == ["A-014", "B-004", "C-001"]
    assert engine.continue_numbers({"A": 90}, day="2026-11-28") is False  # not today
    assert engine.issue("A").ticket.number == "A-015"
    assert engine.last_numbers() == ("2026-11-29", {"A": 15, "B": 4, "C": 1})
    engine.close()


def test_queue_snapshot_says_the_day_and_last_numbers(tmp_path: Path) -> None:
    running = Running(load_config(None), tmp_path)
    try:
        running.node.ctx.engine.issue("A")
        running.node.ctx.engine.issue("A")
        snapshot = running.node.queue_snapshot()
        assert snapshot["issued"] == {"A": 2} and re.fullmatch(r"\d{4}-\d\d-\d\d",
                                                               snapshot["day"])
        payload = {"ts": "2026-11-29T08:00:00+07:00", **snapshot}
        assert SCHEMAS.errors("queue", payload) == []
    finally:
        running.node.stop()
        running.sim.close()


def test_fresh_database_under_an_old_retained_ack_keeps_every_event(
    broker_pair: BrokerPair, tmp_path: Path
) -> None:
    """A re-installed kiosk-1: the central broker still holds its previous life's ack."""
    with MqttProbe(broker_pair.central, broker_pair.ncc) as ncc, \
            MqttProbe(broker_pair.site_lan, broker_pair.node()) as local:
        ncc.publish(TOPICS.ack, b'{"seq":100005}', retain=True)
        local.subscribe(TOPICS.ack)
        assert json.loads(local.expect(TOPICS.ack).payload) == {"seq": 100005}  # bridged down
        ncc.subscribe(TOPICS.event)
        live = LiveNode(tmp_path / "node", broker_pair.site_lan, broker_pair.node())
        try:
            for _ in range(4):  # tickets issued while the link was not up yet
                live.node.ctx.engine.issue("A")
            live.start()
            epoch = Outbox(live.node.ctx.engine.db_path).epoch
            live.issue(3)
            got = ncc.collect(lambda g: len(payloads_on(g, TOPICS.event)) >= 8)
            events = payloads_on(got, TOPICS.event)
            assert [e["seq"] for e in events] == list(range(1, 9))
            assert {e["epoch"] for e in events} == {epoch}
            ncc.subscribe(TOPICS.reply)
            for ack in ({"epoch": "0123456789abcdef", "seq": 100005}, {"seq": 6},
                        {"epoch": epoch, "seq": 100005}, {"epoch": epoch, "seq": 9}):
                ncc.publish(TOPICS.ack, encode(ack), retain=True)
            # A command after the acks, down the same bridge: its reply means they were read.
            ncc.publish(TOPICS.cmd("call_next"), b'{"counter": 1}')
            ncc.expect(TOPICS.reply)
            assert (live.link.state().acked_seq, live.link.state().backlog) == (0, 8)
            with ingest_at(tmp_path / "ncc.db", broker_pair.central, broker_pair.ncc) as ingest:
                wait_until(lambda: ingest.seqs("janti", "kiosk-1") == list(range(1, 9)),
                           "every event at the NCC", 60)
                wait_until(lambda: live.link.state().backlog == 0, "the outbox to empty", 60)
                assert ingest.epoch("janti", "kiosk-1") == epoch
        finally:
            live.close()


@pytest.mark.parametrize(("raw", "valid"), [
    (b'{"epoch":"9f2c41d07b3e8a65","seq":3}', True),
    (b'{"seq":3}', False),  # v1: still parsed by nodes, no longer published by the NCC
    (b'{"epoch":"","seq":3}', False),
])
def test_ack_schema(raw: bytes, valid: bool) -> None:
    assert (SCHEMAS.errors("ack", json.loads(raw)) == []) is valid
