"""The link over TLS: bytes already decrypted in the SSL socket are read at once.

paho's ``loop_read`` reads one packet when nothing is in flight; whatever else the TLS
record held stays in the SSL object (``pending()``), invisible to ``select()``. Mosquitto
2.0 writes each MQTT packet in its own TLS record, so the stall never shows there; a NATS
server's MQTT gateway coalesces packets into one record, so it does. With the link's idle
tick set to an hour, a command stuck in the SSL buffer would not be answered in the test.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from brokers import (
    HOST,
    Address,
    BrokerPair,
    Login,
    MqttProbe,
    free_port,
    wait_mqtt_ready,
    wait_until,
)
from test_mqtt_link import SCHEMAS, TOPICS, LiveNode, until_topic

from edge.mqtt.link import LinkOptions, LinkStatus
from mqtt_config.pki import make_ca, make_server_cert

IDLE_FOREVER = LinkOptions(tick_s=3600.0)
NODE = Login("node.janti.kiosk-1", "kiosk-secret")
STAFF = Login("staff.janti", "staff-secret")


@pytest.fixture
def nats_tls(tmp_path: Path) -> Iterator[Address]:
    """One nats-server (JetStream) whose MQTT gateway speaks TLS only."""
    for name in ("ca", "server"):
        (tmp_path / name).mkdir()
    ca = make_ca(tmp_path / "ca")
    server = make_server_cert(ca, tmp_path / "server", [HOST, "localhost"])
    mqtt_port = free_port()
    users = ", ".join(f'{{user: "{u.username}", password: "{u.password}"}}'
                      for u in (NODE, STAFF))
    conf = tmp_path / "nats.conf"
    conf.write_text(
        f"server_name: tls1\nlisten: {HOST}:{free_port()}\n"
        f"jetstream {{ store_dir: \"{tmp_path / 'store'}\" }}\n"
        f"mqtt {{\n  listen: {HOST}:{mqtt_port}\n"
        f"  tls {{ cert_file: \"{server.cert}\", key_file: \"{server.key}\" }}\n}}\n"
        f"authorization {{ users: [ {users} ] }}\n",
        encoding="utf-8",
    )
    address = Address(HOST, mqtt_port, ca.cert)
    with (tmp_path / "nats.log").open("ab") as log:
        proc = subprocess.Popen(["nats-server", "-c", str(conf)], stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        wait_mqtt_ready(address, STAFF)
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _burst_is_answered(live: LiveNode, staff: MqttProbe, bursts: int = 5) -> None:
    staff.subscribe(TOPICS.reply)
    assert live.link.state().status is LinkStatus.ONLINE
    for _ in range(bursts):
        ids = [str(uuid.uuid4()) for _ in range(20)]
        for command_id in ids:  # back to back, without waiting for replies
            # call_next on an empty queue: answered ok, changes nothing, starts nothing long
            staff.client.publish(TOPICS.cmd("call_next"),
                                 json.dumps({"id": command_id, "counter": 1}), qos=1)
        wanted = set(ids)
        got = staff.collect(lambda g, wanted=wanted: {
            json.loads(m.payload)["id"] for m in g if m.topic == TOPICS.reply} >= wanted)
        assert all(json.loads(m.payload)["ok"] for m in got if m.topic == TOPICS.reply)


def test_acks_over_tls_from_a_coalescing_broker_wait_for_no_tick(
    nats_tls: Address, tmp_path: Path
) -> None:
    """Acks cause no traffic back, so nothing else wakes the loop: 20 acks back to back,
    and the node must have applied the last one."""
    with LiveNode(tmp_path / "node", nats_tls, NODE, options=IDLE_FOREVER,
                  health_interval_s=3600.0) as live, MqttProbe(nats_tls, STAFF) as ncc:
        ncc.subscribe(TOPICS.event)
        live.issue(19)
        events = [json.loads(m.payload) for m in ncc.collect(lambda g: len(g) >= 20)]
        wait_until(lambda: live.link.state().sent_seq == 20, "every event sent")
        for seq in range(1, 21):  # back to back
            ack = {"epoch": events[0].get("epoch"), "seq": seq}
            ncc.client.publish(TOPICS.ack, json.dumps(ack), qos=1)
        wait_until(lambda: live.link.state().acked_seq == 20, "the last ack applied")


def test_commands_over_the_site_brokers_tls_listener(
    broker_pair: BrokerPair, tmp_path: Path
) -> None:
    """Mosquitto over TLS (one record per packet): bursts of commands all answered."""
    with LiveNode(tmp_path, broker_pair.site_tls, broker_pair.node(), options=IDLE_FOREVER,
                  health_interval_s=3600.0) as live, \
            MqttProbe(broker_pair.site_lan, broker_pair.staff()) as staff:
        staff.subscribe(TOPICS.status)
        staff.collect(until_topic(TOPICS.status, lambda p: p["online"]))
        _burst_is_answered(live, staff)


def test_health_over_tls_shows_the_days_left_of_the_ca_and_the_brokers_certificate(
    broker_pair: BrokerPair, tmp_path: Path
) -> None:
    with MqttProbe(broker_pair.site_lan, broker_pair.staff()) as staff:
        staff.subscribe(TOPICS.health)
        with LiveNode(tmp_path, broker_pair.site_tls, broker_pair.node()):
            got = staff.collect(until_topic(TOPICS.health, lambda p: "certificates" in p))
    health = json.loads([m for m in got if m.topic == TOPICS.health][-1].payload)
    assert SCHEMAS.errors("health", health) == []
    by_name = {c["name"]: c for c in health["certificates"]}
    assert set(by_name) == {"ca", "broker"}
    assert all(c["state"] == "ok" and c["days_left"] > 30 for c in by_name.values())
