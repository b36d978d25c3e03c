"""The node's MqttLink against real Mosquitto (site broker bridged to the central one,
both made by ``brexit broker``): the whole contract, offline operation, stale Wills.

Helpers here (``LiveNode``, ``Contract``) are shared by the other test_mqtt_* files.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from brokers import Address, BrokerPair, Login, MqttProbe, Received, wait_until
from paho.mqtt.enums import CallbackAPIVersion

from contract.schemas import Schemas
from contract.topics import NodeAddress, NodeTopics
from edge import __version__
from edge.config import MqttConfig, load_config
from edge.context import Offline
from edge.devices.debounce import DebounceConfig
from edge.mqtt.link import LinkOptions, LinkStatus, MqttLink
from edge.node import Node
from edge.simulation import Simulation
from ncc.ingest import Ingest

SCHEMAS = Schemas.load()
CMD_ID = "6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
TOPICS = NodeTopics("janti", "kiosk-1")
PRESS_SPACING_S = DebounceConfig().min_interval_s + 0.05


class LiveNode:
    """A simulated node (real queue, emulated devices, mock pins) with a real MqttLink."""

    def __init__(
        self, data: Path, address: Address, login: Login, *, node: str = "kiosk-1",
        options: LinkOptions | None = None, health_interval_s: float = 30.0,
    ) -> None:
        self.config = replace(load_config(None), node=node)
        self.sim = Simulation(self.config, data)
        self.node = Node(self.config, data, self.sim.hardware()).start()
        mqtt_config = MqttConfig(
            host=address.host, port=address.port, username=login.username,
            password=login.password, tls_ca=address.ca, health_interval_s=health_interval_s,
        )
        self.link = MqttLink(
            mqtt_config, site=self.config.site, node=node, roles=sorted(self.config.roles),
            version=__version__, outbox_path=self.node.ctx.engine.db_path, actions=self.node,
            options=options,
        )
        self.node.ctx.notifier = self.link
        self._last_press = float("-inf")

    def start(self) -> LiveNode:
        self.link.start()
        return self

    def press(self, service: str) -> None:
        """A patient presses a service button; returns once the ticket exists.

        Presses are spaced past the buttons' flood guard (``min_interval_s``), as two
        patients' presses are."""
        engine = self.node.ctx.engine
        before = len(engine.tickets())
        time.sleep(max(0.0, self._last_press + PRESS_SPACING_S - time.monotonic()))
        self.sim.press(service)
        self._last_press = time.monotonic()
        wait_until(lambda: len(engine.tickets()) > before, f"a ticket from button {service}")

    def issue(self, count: int, service: str = "A") -> None:
        """Tickets issued as the kiosk does it (commit, then tell the link)."""
        for _ in range(count):
            self.node.ctx.engine.issue(service)
            self.link.notify_event()
            self.link.notify_queue_changed()

    def close(self) -> None:
        self.node.ctx.notifier = Offline()  # a closed link raises LinkClosed when notified
        self.link.close()
        self.node.stop()
        self.sim.close()

    def __enter__(self) -> LiveNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def schema_of(topic: str) -> str | None:
    """Which schema a contract topic's payload follows."""
    if topic == "brexit/v1/ncc/status":
        return "ncc_status"
    if topic.startswith("brexit/v1/ncc/ack/"):
        return "ack"
    address = NodeAddress.parse(topic)
    if address is None:
        return "queue" if topic.endswith("/queue") else None
    if address.kind.startswith("cmd/"):
        return address.kind
    return address.kind


def assert_valid(messages: list[Received]) -> int:
    """Every payload the node or the NCC ingest published is valid against its schema
    (commands are the tests' own, some deliberately bad); returns how many were checked."""
    checked = 0
    for m in messages:
        name = schema_of(m.topic)
        assert name is not None, m.topic
        if not m.payload or name.startswith("cmd/"):
            continue
        problems = SCHEMAS.errors(name, json.loads(m.payload))
        assert problems == [], (m.topic, m.payload, problems)
        checked += 1
    return checked


def payloads_on(messages: list[Received], topic: str) -> list[dict[str, Any]]:
    return [json.loads(m.payload) for m in messages if m.topic == topic and m.payload]


def until_topic(topic: str, test: Callable[[dict[str, Any]], bool]) -> Callable[
        [list[Received]], bool]:
    return lambda got: any(m.topic == topic and test(json.loads(m.payload)) for m in got
                           if m.payload)


def gather(
    probe: MqttProbe, got: list[Received], done: Callable[[list[Received]], bool]
) -> list[Received]:
    """``got`` plus what arrives until ``done`` holds for everything received so far."""
    return got + probe.collect(lambda new: done(got + new))


def event_seqs(messages: list[Received]) -> list[int]:
    return [p["seq"] for p in payloads_on(messages, TOPICS.event)]


# --- the contract end to end ------------------------------------------------------------------

def test_contract_end_to_end_through_the_bridge(broker_pair: BrokerPair, tmp_path: Path) -> None:
    with MqttProbe(broker_pair.central, broker_pair.ncc) as ncc, \
            MqttProbe(broker_pair.site_lan, broker_pair.staff()) as staff:
        ncc.subscribe("brexit/v1/#")
        staff.subscribe("brexit/v1/janti/#")
        with LiveNode(tmp_path, broker_pair.site_lan, broker_pair.node()) as live:
            got = ncc.collect(lambda g: {TOPICS.status, TOPICS.health, TOPICS.queue}
                              <= {m.topic for m in g})
            birth = payloads_on(got, TOPICS.status)[0]
            assert birth["online"] and birth["session"] == 1 and birth["roles"] == [
                "caller", "kiosk"]
            live.press("A")
            live.press("B")
            got = gather(ncc, got, lambda g: len(event_seqs(g)) >= 3)
            # A command from the NCC goes down the bridge; the reply comes back up.
            ncc.publish(TOPICS.cmd("call_next"), json.dumps({"id": CMD_ID, "counter": 1}))
            got = gather(ncc, got, until_topic(TOPICS.reply, lambda p: p["id"] == CMD_ID))
            ncc.publish(TOPICS.cmd("call_next"), b'{"counter": 1}')
            got = gather(ncc, got, until_topic(TOPICS.reply, lambda p: p["id"] is None))
            got = gather(ncc, got, until_topic(TOPICS.queue,
                                               lambda p: p["serving"]["1"] == "A-001"))
            got = gather(ncc, got, lambda g: len(event_seqs(g)) >= 4)  # + ticket.called
            # The NCC acks: the node forgets what is covered.
            assert live.link.state().backlog == 4
            epoch = payloads_on(got, TOPICS.event)[0]["epoch"]
            ncc.publish(TOPICS.ack, json.dumps({"epoch": epoch, "seq": 3}), retain=True)
            wait_until(lambda: live.link.state().acked_seq == 3, "the ack to reach the node")
            assert live.link.state().backlog == 1
        got = gather(ncc, got, until_topic(TOPICS.status, lambda p: not p["online"]))
        site_view = staff.collect(until_topic(TOPICS.status, lambda p: not p["online"]))
    assert assert_valid(got) >= 10 and assert_valid(site_view) >= 10
    events = payloads_on(got, TOPICS.event)
    assert [e["seq"] for e in events] == [1, 2, 3, 4]
    assert [e["type"] for e in events] == ["queue.reset", "ticket.issued", "ticket.issued",
                                           "ticket.called"]
    assert [e["data"]["number"] for e in events[1:]] == ["A-001", "B-001", "A-001"]
    replies = payloads_on(got, TOPICS.reply)
    assert replies[0] == {"id": CMD_ID, "ok": True,
                          "data": {"number": "A-001", "service": "A", "state": "called"}}
    assert replies[1] == {"id": None, "ok": False, "error": "missing id"}
    goodbye = payloads_on(got, TOPICS.status)[-1]
    assert goodbye == {**birth, "online": False}
    health = payloads_on(got, TOPICS.health)[0]
    assert health["printer"] == "ok" and health["session"] == 1
    assert health["outbox"]["backlog"] >= 0 and health["system"]["disk_total_bytes"] > 0


def test_offline_node_keeps_working_and_delivers_on_connect(
    broker_pair: BrokerPair, tmp_path: Path
) -> None:
    broker_pair.site_broker.stop()
    live = LiveNode(tmp_path, broker_pair.site_lan, broker_pair.node(),
                    options=LinkOptions(backlog_warn=3, backoff_min_s=0.2, backoff_max_s=0.5))
    with live:
        for _ in range(2):
            live.press("A")
        live.issue(3)
        # queue.reset + 5 tickets, all kept while there is no broker
        wait_until(lambda: live.link.state().backlog == 6, "six events in the outbox")
        assert live.link.state().status is LinkStatus.OFFLINE
        assert live.link.state().last_error
        with Ingest(tmp_path / "ncc.db", host=broker_pair.central.host,
                    port=broker_pair.central.port, username="ncc",
                    password=broker_pair.ncc.password, tls_ca=broker_pair.central.ca) as ncc, \
                MqttProbe(broker_pair.central, broker_pair.ncc) as watch:
            watch.subscribe(TOPICS.health)
            broker_pair.site_broker.start()
            health = watch.collect(until_topic(TOPICS.health, lambda p: p["outbox"]["warning"]))
            wait_until(lambda: ncc.seqs("janti", "kiosk-1") == [1, 2, 3, 4, 5, 6],
                       "every event at the NCC")
            wait_until(lambda: live.link.state().backlog == 0, "acks to empty the outbox")
            health += watch.collect(until_topic(
                TOPICS.health, lambda p: not p["outbox"]["warning"]))
    assert assert_valid(health) >= 2
    assert [e["type"] for e in ncc_events(tmp_path / "ncc.db")] == [
        "queue.reset", *["ticket.issued"] * 5]


def ncc_events(db: Path) -> list[dict[str, Any]]:
    ingest = Ingest(db, host="127.0.0.1", port=1)
    try:
        return ingest.events("janti", "kiosk-1")
    finally:
        ingest.close()


def test_a_stale_will_is_recognised_and_the_birth_restored(
    broker_pair: BrokerPair, tmp_path: Path
) -> None:
    """An old connection of the node (session 1) dies after session 2 was born: its Will
    arrives late, is recognisable by its lower session, and the node re-asserts its birth."""
    login = broker_pair.node()
    with MqttProbe(broker_pair.central, broker_pair.ncc) as ncc:
        ncc.subscribe(TOPICS.status)
        with LiveNode(tmp_path, broker_pair.site_lan, login):
            pass  # session 1, then a clean goodbye
        with LiveNode(tmp_path, broker_pair.site_lan, login):
            seen = ncc.collect(until_topic(TOPICS.status, lambda p: p["session"] == 2
                                           and p["online"]))
            zombie = _connection_with_will(broker_pair.site_lan, login, session=1)
            _die_abruptly(zombie)
            seen += ncc.collect(until_topic(TOPICS.status, lambda p: p["session"] == 1
                                            and not p["online"] and p.get("stale_test")))
            seen += ncc.collect(until_topic(TOPICS.status, lambda p: p["session"] == 2
                                            and p["online"]))
            retained = _retained(broker_pair.central, broker_pair.ncc, TOPICS.status)
    statuses = payloads_on(seen, TOPICS.status)
    late_will = next(p for p in statuses if p.get("stale_test"))
    newest_birth = max(p["session"] for p in statuses if p["online"])
    assert late_will["session"] < newest_birth  # a consumer keeping the max session ignores it
    assert retained["online"] and retained["session"] == 2
    assert_valid(seen)


def _connection_with_will(address: Address, login: Login, *, session: int) -> mqtt.Client:
    will = {"online": False, "session": session, "ts": "2026-11-29T08:00:00+07:00",
            "version": __version__, "roles": ["caller", "kiosk"], "stale_test": True}
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="brexit-janti-kiosk-1-old",
                         protocol=mqtt.MQTTv311)
    client.username_pw_set(login.username, login.password)
    client.will_set(TOPICS.status, json.dumps(will), qos=1, retain=True)
    client.connect(address.host, address.port, keepalive=30)
    wait_until(lambda: client.loop(0.05) == 0 and client.is_connected(), "zombie connected")
    return client


def _die_abruptly(client: mqtt.Client) -> None:
    """Drop the TCP connection without DISCONNECT, as a crashed or unplugged Pi does."""
    sock = client.socket()
    assert isinstance(sock, socket.socket)
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def _retained(address: Address, login: Login, topic: str) -> dict[str, Any]:
    with MqttProbe(address, login) as probe:
        probe.subscribe(topic)
        message = probe.expect(topic)
    assert message.retain
    result: dict[str, Any] = json.loads(message.payload)
    return result


def test_link_refuses_to_start_without_credentials_unless_anonymous_allowed(
    tmp_path: Path,
) -> None:
    import pytest

    with pytest.raises(ValueError, match="username"):
        MqttLink(MqttConfig(), site="janti", node="kiosk-1", roles=["kiosk"], version="0",
                 outbox_path=tmp_path / "q.db", actions=None)  # type: ignore[arg-type]


def test_wrong_password_is_retried_with_backoff_and_reported(
    broker_pair: BrokerPair, tmp_path: Path
) -> None:
    bad = Login(broker_pair.node().username, "wrong")
    options = LinkOptions(backoff_min_s=0.1, backoff_max_s=0.2)
    with LiveNode(tmp_path, broker_pair.site_lan, bad, options=options) as live:
        wait_until(lambda: live.link.state().session >= 3, "several attempts")
        state = live.link.state()
    assert state.status is not LinkStatus.ONLINE
    assert state.last_error is not None and "refused" in state.last_error.lower()
