"""The NCC monitor against the real central broker (made by ``brexit broker``) with light
simulated nodes speaking the contract over the sites' bridge logins."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from brokers import BrokerPair, MqttProbe, wait_until
from ncc_helpers import (
    Webhook,
    ncc_config,
    open_alarm,
    pair_fleet,
    running,
    sim_fleet,
    wait_state,
)
from test_mqtt_link import assert_valid

from ncc.config import NotifySettings
from ncc.messages import Message
from ncc.monitor import Monitor
from ncc.sim import SimConnection
from ncc.store import BatchResult, SqliteStore


def test_events_stored_once_acked_and_shown(broker_pair: BrokerPair, tmp_path: Path) -> None:
    fleet = pair_fleet(broker_pair)
    with MqttProbe(broker_pair.central, broker_pair.ncc) as watch:
        watch.subscribe("brexit/v1/#")
        with running(ncc_config(broker_pair, tmp_path), fleet) as monitor, \
                sim_fleet(broker_pair, fleet) as sims:
            kiosk = sims.node("janti", "kiosk-1")
            conn = sims.connections["janti"]
            conn.do(lambda c: [p for s in "AABCA" for p in c.nodes["kiosk-1"].issue(s)])
            conn.do(lambda c: c.nodes["caller-1"].call_next(1))
            conn.do(lambda c: c.nodes["caller-1"].call_next(1))  # A-001 done, A-002 called
            wait_until(lambda: kiosk.acked == 5 and not kiosk.outbox, "acks for five tickets")
            with MqttProbe(broker_pair.central, broker_pair.bridge()) as bad:
                bad.publish("brexit/v1/janti/kiosk-1/event", b'{"seq": 6}')
            wait_until(lambda: b"brexit_messages_rejected_total 1.0" in monitor.metrics(),
                       "the malformed event counted")
            wait_state(monitor, "janti", "kiosk-1", "online")
            wait_until(lambda: b"brexit_events_ingested_total 8.0" in monitor.metrics(),
                       "the counter's three events stored")
            wait_until(lambda: monitor.site("janti")["waiting"] == 3, "the last queue snapshot")
            site = monitor.site("janti")
            tile = next(t for t in monitor.sites() if t["site"] == "janti")
            view = monitor.node("janti", "kiosk-1")
            events = monitor.events(site="janti")
            after = monitor.events(site="janti", after=events["next"])
            metrics = monitor.metrics().decode()
        seen = watch.collect(lambda got: any(m.topic == "brexit/v1/ncc/status" and
                                             not json.loads(m.payload)["online"] for m in got))
    own_bad = b'{"seq": 6}'  # the test's deliberately malformed event
    assert assert_valid([m for m in seen if m.payload != own_bad]) > 10  # sims and NCC alike
    assert view is not None
    assert view["session"] == 1 and view["version"] == "0.1.0" and view["backlog"] == 0
    assert view["devices"]["printer"]["state"] == "ok"
    assert view["certificate_days_left"] >= 299
    assert [e["type"] for e in view["recent_events"]][-1] == "ticket.issued"
    assert [e["seq"] for e in events["items"] if e["node"] == "kiosk-1"] == [1, 2, 3, 4, 5]
    assert tile["nodes"] == {"online": 2, "silent": 0, "offline": 0}
    assert tile["name"] == "UPT Puskesmas Janti" and tile["waiting"] == 3
    assert tile["served_today"] == 1
    assert [n["node"] for n in site["nodes"]] == ["caller-1", "kiosk-1"]
    queue = {q["service"]: q for q in site["queue"]}
    assert queue["A"]["waiting"] == 1 and queue["B"]["waiting"] == 1  # called
    assert queue["A"]["avg_wait_s"] is not None and queue["A"]["served"] == 1
    acks = [json.loads(m.payload) for m in seen if m.topic == "brexit/v1/ncc/ack/janti/kiosk-1"]
    assert acks[-1]["seq"] == 5
    assert events["next"] == events["items"][-1]["cursor"]
    assert after["items"] == []
    assert 'brexit_nodes{state="online"} 3.0' in metrics
    assert "brexit_events_ingested_total 8.0" in metrics  # 5 issued, 2 called, 1 completed


def test_device_fault_alarm_webhook_ack_and_clear(broker_pair: BrokerPair,
                                                  tmp_path: Path) -> None:
    fleet = pair_fleet(broker_pair)
    with Webhook(fail_first=1) as hook:
        config = replace(ncc_config(broker_pair, tmp_path),
                         notify=NotifySettings(webhook_url=hook.url, retry_delay_s=0.05))
        with running(config, fleet) as monitor, sim_fleet(broker_pair, fleet) as sims:
            conn = sims.connections["janti"]
            wait_state(monitor, "janti", "kiosk-1", "online")
            conn.do(lambda c: c.nodes["kiosk-1"].fault("printer", "paper_out"))
            alarm = open_alarm(monitor, "janti", "kiosk-1", "printer")
            opened = hook.next()
            acked = monitor.ack_alarm(alarm["id"], user="sari")
            conn.do(lambda c: c.nodes["kiosk-1"].recover("printer"))
            wait_until(lambda: monitor.alarms(state="open", site="janti") == [], "clear")
            cleared = hook.next()
            history = monitor.alarms(state="all", site="janti")
            audit = monitor.audit()
            with pytest.raises(KeyError):
                monitor.ack_alarm(999, user="sari")
    assert alarm["detail"] == "paper_out" and alarm["severity"] == "critical"
    assert opened["event"] == "alarm.opened" and opened["alarm"]["id"] == alarm["id"]
    assert hook.requests >= 3  # the first POST failed and was retried
    assert acked["state"] == "acked" and acked["acked_by"] == "sari"
    assert cleared["event"] == "alarm.cleared"
    assert history[0]["state"] == "cleared" and history[0]["acked_by"] == "sari"
    assert history[0]["cleared_at"] is not None
    assert audit[0]["user"] == "sari" and audit[0]["action"] == "ack"


def test_silent_node_and_silence(broker_pair: BrokerPair, tmp_path: Path) -> None:
    fleet = pair_fleet(broker_pair)
    with running(ncc_config(broker_pair, tmp_path), fleet) as monitor, \
            sim_fleet(broker_pair, fleet) as sims:
        wait_state(monitor, "janti", "caller-1", "online")
        until = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + 3600))
        silence = monitor.silence(site="janti", node="caller-1", until=until, user="sari",
                                  reason="ganti kabel")
        sims.node("janti", "caller-1").stuck = True  # status online, no more health
        wait_state(monitor, "janti", "caller-1", "silent")
        alarm = open_alarm(monitor, "janti", "caller-1", "silent")
        with pytest.raises(ValueError, match="until"):
            monitor.silence(site="janti", node=None, until="tomorrow", user="sari")
        sims.node("janti", "caller-1").stuck = False
        wait_state(monitor, "janti", "caller-1", "online")
    assert silence["until"] is not None
    assert alarm["silenced"] is True and alarm["severity"] == "warning"


def test_node_gone_then_site_unreachable_suppresses(broker_pair: BrokerPair,
                                                    tmp_path: Path) -> None:
    fleet = pair_fleet(broker_pair)
    config = ncc_config(broker_pair, tmp_path, hold_down_s=1.5)
    with running(config, fleet) as monitor, sim_fleet(broker_pair, fleet) as sims:
        conn = sims.connections["janti"]
        wait_state(monitor, "janti", "kiosk-1", "online")
        wait_state(monitor, "janti", "caller-1", "online")

        def both_gone(c: SimConnection) -> list:
            return [*c.go_away("kiosk-1"), *c.go_away("caller-1")]

        conn.do(both_gone)
        site_alarm = open_alarm(monitor, "janti", None, "site_unreachable")
        per_node = [a for a in monitor.alarms(site="janti") if a["node"] is not None]
        assert monitor.site("janti")["unreachable"] is True
        conn.do(lambda c: c.come_back("kiosk-1"))
        wait_until(lambda: not monitor.site("janti")["unreachable"], "the site back")
        offline = open_alarm(monitor, "janti", "caller-1", "offline")
        conn.do(lambda c: c.come_back("caller-1"))
        wait_until(lambda: monitor.alarms(site="janti") == [], "every alarm cleared")
    assert per_node == []  # the site alarm stood for both nodes
    assert site_alarm["severity"] == "critical"
    assert offline["kind"] == "offline"


def test_operator_command_reply_and_audit(broker_pair: BrokerPair, tmp_path: Path) -> None:
    fleet = pair_fleet(broker_pair)
    with running(ncc_config(broker_pair, tmp_path), fleet) as monitor, \
            sim_fleet(broker_pair, fleet) as sims:
        wait_state(monitor, "janti", "kiosk-1", "online")
        ok = monitor.command("janti", "kiosk-1", "selftest", {}, user="budi")
        spoken = monitor.command("janti", "kiosk-1", "announce",
                                 {"text": "Mohon maaf, antrean ditunda."}, user="budi")
        with pytest.raises(ValueError, match="text"):
            monitor.command("janti", "kiosk-1", "announce", {"text": ""}, user="budi")
        with pytest.raises(ValueError, match="unknown command"):
            monitor.command("janti", "kiosk-1", "shutdown", {}, user="budi")
        timeout = monitor.command("janti", "kiosk-9", "selftest", {}, user="budi",
                                  timeout_s=0.5)
        sims.node("janti", "kiosk-1")  # still there
        audit = monitor.audit()
    assert ok["ok"] is True and ok["data"]["devices"]["printer"] == "ok"
    assert spoken == {"id": spoken["id"], "ok": True,
                      "data": {"spoken": "Mohon maaf, antrean ditunda."}}
    assert timeout == {"id": timeout["id"], "ok": False, "error": "timeout"}
    assert [(a["user"], a["target"], a["result"]) for a in audit[:3]] == [
        ("budi", "janti/kiosk-9", "error: timeout"), ("budi", "janti/kiosk-1", "ok"),
        ("budi", "janti/kiosk-1", "ok")]


def test_central_broker_restart_rebirth_and_no_loss(broker_pair: BrokerPair,
                                                    tmp_path: Path) -> None:
    fleet = pair_fleet(broker_pair)
    with running(ncc_config(broker_pair, tmp_path), fleet) as monitor, \
            sim_fleet(broker_pair, fleet) as sims:
        kiosk = sims.node("janti", "kiosk-1")
        conn = sims.connections["janti"]
        conn.do(lambda c: c.nodes["kiosk-1"].issue("A"))
        wait_until(lambda: kiosk.acked == 1, "first ack")
        first_session = monitor.ingest.session
        broker_pair.central_broker.kill()
        conn.do(lambda c: [p for _ in range(10) for p in c.nodes["kiosk-1"].issue("B")])
        broker_pair.central_broker.start()
        wait_until(lambda: kiosk.acked == 11 and not kiosk.outbox, "all eleven acked")
        with MqttProbe(broker_pair.central, broker_pair.ncc) as watch:
            watch.subscribe("brexit/v1/ncc/status")
            births = watch.collect(lambda got: any(json.loads(m.payload)["online"]
                                                   for m in got))
        seqs = monitor.ingest.seqs("janti", "kiosk-1")
    assert seqs == list(range(1, 12))
    assert monitor.ingest.session > first_session
    assert json.loads(births[-1].payload)["session"] == monitor.ingest.session


class FailingStore(SqliteStore):
    """The real store, whose first ``failures`` commits fail as a full disk does."""

    def __init__(self, path: Path, failures: int) -> None:
        super().__init__(path)
        self.failures = failures

    def apply(self, batch: Sequence[Message]) -> BatchResult:
        if self.failures > 0:
            self.failures -= 1
            raise sqlite3.OperationalError("database or disk is full")
        return super().apply(batch)


def test_a_failed_commit_acks_nothing_and_is_retried(broker_pair: BrokerPair,
                                                     tmp_path: Path) -> None:
    fleet = pair_fleet(broker_pair)
    config = ncc_config(broker_pair, tmp_path)
    store = FailingStore(tmp_path / "ncc.db", failures=3)
    with MqttProbe(broker_pair.central, broker_pair.ncc) as watch:
        watch.subscribe("brexit/v1/ncc/ack/#")
        monitor = Monitor(config, fleet=fleet, store=store).start()
        try:
            with sim_fleet(broker_pair, fleet) as sims:
                kiosk = sims.node("janti", "kiosk-1")
                sims.connections["janti"].do(lambda c: c.nodes["kiosk-1"].issue("A"))
                wait_until(lambda: kiosk.acked == 1, "the ack once the store recovered")
                stats = monitor.ingest.stats()
                wait_until(lambda: b"brexit_ncc_store_failures_total 3.0" in monitor.metrics(),
                           "the failures in the metrics")
            seqs = monitor.ingest.seqs("janti", "kiosk-1")
        finally:
            monitor.close()
        acks = [json.loads(m.payload) for m in watch.collect(
            lambda got: any(m.topic.endswith("/janti/kiosk-1") for m in got))]
    assert store.failures == 0 and seqs == [1]
    assert acks[0]["seq"] == 1  # no ack went out before the event was stored
    assert stats.store_failures == 3
