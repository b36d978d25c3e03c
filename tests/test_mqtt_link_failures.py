"""The MQTT link never dies: every failure is shown in health (``mqtt``), logged once per
change, backed off and retried; the link works again once the cause is gone.

Before the link was split into transport and delivery, a missing or garbage CA file (or a
database write failing while connecting) killed the ``mqtt-link`` thread for good.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from brokers import HOST, Address, BrokerPair, Login, MqttProbe, free_port, wait_until
from disks import fill, small_tmpfs
from nodeproc import NodeProcess
from test_mqtt_link import SCHEMAS, TOPICS, LiveNode, payloads_on, until_topic
from test_mqtt_node_process import node_config

from edge.mqtt.command_log import CommandLog
from edge.mqtt.link import LinkClosed, LinkOptions, LinkStatus, MqttLink

FAST = LinkOptions(backoff_min_s=0.05, backoff_max_s=0.2)


def link_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "mqtt-link"]


def mqtt_health(live: LiveNode) -> dict[str, object]:
    health = live.node.health()
    assert SCHEMAS.errors("health", {**health, "ts": "2026-11-30T08:00:00+07:00",
                                     "session": 1, "system": _SYSTEM, "outbox": _OUTBOX}) == []
    part: dict[str, object] = health["mqtt"]
    return part


_SYSTEM = {"cpu_temp_c": None, "disk_free_bytes": 1, "disk_total_bytes": 2,
           "disk_used_pct": 50.0, "mem_available_bytes": None, "mem_total_bytes": None,
           "uptime_s": None, "clock_synced": None}
_OUTBOX = {"backlog": 0, "acked_seq": 0, "last_seq": 0, "warn_above": 1, "warning": False}


def offline_with(live: LiveNode, *words: str) -> dict[str, object]:
    """Wait until the link is offline with an error containing every word; its health."""
    def seen() -> bool:
        error = live.link.state().last_error or ""
        return live.link.state().status is LinkStatus.OFFLINE and all(w in error for w in words)

    wait_until(seen, f"the link offline with {words}")
    return mqtt_health(live)


@pytest.mark.parametrize("content", [None, b"this is not a certificate\n"],
                         ids=["missing", "garbage"])
def test_a_bad_ca_file_is_reported_and_the_link_recovers_when_it_is_fixed(
    broker_pair: BrokerPair, tmp_path: Path, content: bytes | None
) -> None:
    ca = tmp_path / "fleet-ca.crt"
    if content is not None:
        ca.write_bytes(content)
    address = Address(broker_pair.site_tls.host, broker_pair.site_tls.port, ca)
    with LiveNode(tmp_path / "node", address, broker_pair.node(), options=FAST) as live:
        health = offline_with(live, "connect to", "Error")
        assert health["state"] == "offline" and health["last_error"]
        assert len(link_threads()) == 1
        shutil.copy(broker_pair.ca_file, ca)
        wait_until(lambda: live.link.state().status is LinkStatus.ONLINE, "the link online")
        assert mqtt_health(live)["state"] == "online"
        assert mqtt_health(live)["last_error"] is None


def unreachable() -> Address:
    return Address(HOST, free_port())  # nobody listens there


@pytest.mark.parametrize("case", ["wrong password", "tls to the plain port", "no broker",
                                  "plain to the tls port"])
def test_each_connection_failure_is_in_health_and_logged_once(
    broker_pair: BrokerPair, tmp_path: Path, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    login = broker_pair.node()
    address, words = {
        "wrong password": (broker_pair.site_lan, ("refused", "Not authorized")),
        "tls to the plain port": (Address(HOST, broker_pair.site_lan.port,
                                          broker_pair.ca_file), ("connect to",)),
        "no broker": (unreachable(), ("refused",)),
        "plain to the tls port": (Address(HOST, broker_pair.site_tls.port), ("closed",)),
    }[case]
    if case == "wrong password":
        login = Login(login.username, "wrong")
    caplog.set_level(logging.WARNING, logger="edge.mqtt")
    with LiveNode(tmp_path, address, login, options=FAST) as live:
        health = offline_with(live, *words)
        wait_until(lambda: live.link.state().session >= 5, "several attempts")
        assert health["state"] == "offline" and health["since"]
    lines = [r.getMessage() for r in caplog.records if "offline" in r.getMessage()]
    assert len(lines) == 1, lines  # one line per change, not per attempt
    assert all(w in lines[0] for w in words)


def test_a_database_write_failing_while_connecting_does_not_kill_the_link(
    broker_pair: BrokerPair, tmp_path: Path
) -> None:
    """Storing the session number fails (the database is locked by another writer until
    SQLite's busy timeout, 10 s; a full disk fails the same call): the link still connects
    with the session it holds in memory, and delivers."""
    live = LiveNode(tmp_path, broker_pair.site_lan, broker_pair.node())
    CommandLog(live.node.ctx.engine.db_path).close()  # its table exists before the lock
    live.issue(2)
    blocker = sqlite3.connect(live.node.ctx.engine.db_path, isolation_level=None)
    try:
        with MqttProbe(broker_pair.site_lan, broker_pair.staff()) as staff:
            staff.subscribe(TOPICS.event)
            blocker.execute("BEGIN EXCLUSIVE")
            with live:
                got = staff.collect(lambda g: len(g) >= 3, timeout=60)
                assert live.link.state().status is LinkStatus.ONLINE
                assert [p["seq"] for p in payloads_on(got, TOPICS.event)] == [1, 2, 3]
                assert len(link_threads()) == 1
    finally:
        blocker.close()


def test_published_health_carries_the_link_state(broker_pair: BrokerPair, tmp_path: Path) -> None:
    with MqttProbe(broker_pair.site_lan, broker_pair.staff()) as staff:
        staff.subscribe(TOPICS.health)
        with LiveNode(tmp_path, broker_pair.site_lan, broker_pair.node()):
            got = staff.collect(until_topic(TOPICS.health, lambda p: "mqtt" in p))
    health = payloads_on(got, TOPICS.health)[-1]
    assert SCHEMAS.errors("health", health) == []
    assert health["mqtt"]["state"] == "online" and health["mqtt"]["last_error"] is None
    assert set(health["mqtt"]) == {"state", "last_error", "since", "backlog", "acked_seq"}


def test_close_is_idempotent_and_use_after_close_raises(tmp_path: Path) -> None:
    live = LiveNode(tmp_path, unreachable(), Login("node.janti.kiosk-1", "x"), options=FAST)
    link: MqttLink = live.link
    with live:
        wait_until(lambda: link.state().status is LinkStatus.OFFLINE, "offline")
    link.close()  # again: nothing happens
    assert link.state().status is LinkStatus.STOPPED
    assert link_threads() == []
    for use in (link.start, link.notify_event, link.notify_queue_changed,
                link.notify_health_changed):
        with pytest.raises(LinkClosed):
            use()


def test_the_node_process_says_once_why_it_is_offline_and_shows_it_in_health(
    broker_pair: BrokerPair, tmp_path: Path
) -> None:
    """``brexit node`` with a wrong password: one line on stderr however often it retries,
    and the ``health`` control line shows the link offline with the broker's answer."""
    config = node_config(tmp_path / "node.toml", broker_pair)
    config.write_text(config.read_text(encoding="utf-8").replace(
        f'password = "{broker_pair.node().password}"', 'password = "wrong"'), encoding="utf-8")
    node = NodeProcess(tmp_path / "data", config=config)
    try:
        broker_log = broker_pair.site_broker.log
        wait_until(lambda: broker_log.read_text(errors="replace").count("not authorised") >= 3,
                   "three refused attempts")
        node.send("health")
        health = json.loads(node.expect("{"))
        assert node.quit() == 0
    finally:
        if node.proc.poll() is None:
            node.kill()
    assert health["mqtt"]["state"] == "offline"
    assert "Not authorized" in health["mqtt"]["last_error"]
    assert node.proc.stderr is not None
    stderr = node.proc.stderr.read().splitlines()
    said = [line for line in stderr if "offline" in line]
    assert len(said) == 1, stderr
    assert said[0].endswith(
        f"mqtt: janti/kiosk-1 at {broker_pair.site_lan.host}:{broker_pair.site_lan.port} "
        "offline: broker refused: Not authorized; retrying"), said
    assert not any("Traceback" in line for line in stderr)


def test_a_full_disk_while_reconnecting_does_not_kill_the_link(
    broker_pair: BrokerPair, tmp_path: Path
) -> None:
    """The node's data directory on a small tmpfs, filled; the broker restarts, so the link
    reconnects and cannot store its new session: it connects anyway, and a command it
    cannot record is refused rather than run. Once space returns, commands run again."""
    with small_tmpfs(tmp_path / "disk", 16) as disk, \
            LiveNode(disk / "data", broker_pair.site_lan, broker_pair.node(),
                     options=FAST) as live:
        wait_until(lambda: live.link.state().status is LinkStatus.ONLINE, "online")
        live.issue(1)
        filler = fill(disk)
        broker_pair.site_broker.restart()
        wait_until(lambda: live.link.state().status is LinkStatus.ONLINE
                   and live.link.state().session >= 2, "online again on a full disk")
        with MqttProbe(broker_pair.site_lan, broker_pair.staff()) as staff:
            staff.subscribe(TOPICS.reply)
            staff.publish(TOPICS.cmd("selftest"), json.dumps({"id": IDS[0]}))
            refused = json.loads(staff.expect(TOPICS.reply).payload)
            filler.unlink()
            staff.publish(TOPICS.cmd("selftest"), json.dumps({"id": IDS[1]}))
            done = json.loads(staff.expect(TOPICS.reply).payload)
        assert len(link_threads()) == 1
    assert refused["id"] == IDS[0] and not refused["ok"], refused
    assert "cannot record command" in refused["error"] and "full" in refused["error"]
    assert SCHEMAS.errors("reply", refused) == []
    assert done["id"] == IDS[1] and done["ok"], done


IDS = ("11111111-2222-4333-8444-555555555555", "66666666-7777-4888-8999-aaaaaaaaaaaa")
