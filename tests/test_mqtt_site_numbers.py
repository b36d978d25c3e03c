"""A node on a fresh database continues the day's numbers from its site's retained queue
snapshot, so two patients never hold the same number on one day; the birth carries the
database's epoch."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from brokers import BrokerPair, MqttProbe
from test_mqtt_link import SCHEMAS, TOPICS, LiveNode, payloads_on, until_topic

from edge.mqtt.site_queue import DONE_KEY
from edge.queue.outbox import Outbox


def today(offset_days: int = 0) -> str:
    now = datetime.now(ZoneInfo("Asia/Jakarta")) + timedelta(days=offset_days)
    return now.date().isoformat()


def snapshot(day: str, issued: dict[str, int]) -> bytes:
    payload = {"ts": f"{day}T09:00:00+07:00", "waiting": {"A": 2}, "serving": {"1": "A-010"},
               "last_called": None, "day": day, "issued": issued}
    assert SCHEMAS.errors("queue", payload) == []
    return json.dumps(payload).encode()


def publish_site_snapshot(pair: BrokerPair, raw: bytes) -> None:
    """What the site's other node (caller-1) left retained before this node was re-imaged."""
    with MqttProbe(pair.site_lan, pair.node("caller-1")) as other:
        other.publish(TOPICS.queue, raw, retain=True)


@pytest.mark.parametrize(("day_offset", "expected"), [(0, "A-013"), (-1, "A-001")],
                         ids=["today", "yesterday"])
def test_a_fresh_node_continues_todays_numbers_from_the_site_snapshot(
    broker_pair: BrokerPair, tmp_path: Path, day_offset: int, expected: str
) -> None:
    publish_site_snapshot(broker_pair, snapshot(today(day_offset), {"A": 12, "B": 3}))
    with MqttProbe(broker_pair.site_lan, broker_pair.staff()) as staff:
        staff.subscribe(TOPICS.queue)
        staff.expect(TOPICS.queue)  # the retained one
        with LiveNode(tmp_path, broker_pair.site_lan, broker_pair.node()) as live:
            mine = staff.expect(TOPICS.queue)  # the node publishes only after reading it
            live.press("A")
            live.press("B")
            numbers = [t.number for t in live.node.ctx.engine.tickets()]
            assert live.link.state().session == 1
    assert numbers == [expected, "B-004" if day_offset == 0 else "B-001"]
    assert SCHEMAS.errors("queue", json.loads(mine.payload)) == []


def test_the_snapshot_is_read_once_per_database(broker_pair: BrokerPair, tmp_path: Path) -> None:
    with LiveNode(tmp_path, broker_pair.site_lan, broker_pair.node()) as live, \
            MqttProbe(broker_pair.site_lan, broker_pair.staff()) as staff:
        staff.subscribe(TOPICS.queue)
        staff.expect(TOPICS.queue)
        live.press("A")
    publish_site_snapshot(broker_pair, snapshot(today(), {"A": 40}))
    with LiveNode(tmp_path, broker_pair.site_lan, broker_pair.node()) as live, \
            MqttProbe(broker_pair.site_lan, broker_pair.staff()) as staff:
        staff.subscribe(TOPICS.status)
        staff.collect(until_topic(TOPICS.status, lambda p: p["online"] and p["session"] == 2))
        live.press("A")
        numbers = [t.number for t in live.node.ctx.engine.tickets()]
        assert live.node.ctx.engine.db_path.exists()
    assert numbers == ["A-001", "A-002"]  # its own database knows its numbers
    box = Outbox(tmp_path / "queue.db")
    try:
        assert box.meta_get(DONE_KEY) == "1"
    finally:
        box.close()


def test_the_birth_carries_the_epoch_of_the_events(broker_pair: BrokerPair, tmp_path: Path) -> None:
    with MqttProbe(broker_pair.central, broker_pair.ncc) as ncc:
        ncc.subscribe(TOPICS.status)
        ncc.subscribe(TOPICS.event)
        with LiveNode(tmp_path, broker_pair.site_lan, broker_pair.node()) as live:
            live.issue(1)
            got = ncc.collect(lambda g: len(payloads_on(g, TOPICS.event)) >= 2
                              and bool(payloads_on(g, TOPICS.status)))
    birth = payloads_on(got, TOPICS.status)[0]
    epochs = {e["epoch"] for e in payloads_on(got, TOPICS.event)}
    assert SCHEMAS.errors("status", birth) == []
    assert epochs == {birth["epoch"]}
