"""A 3-server NATS JetStream cluster's MQTT gateway carries the contract (MQTT 3.1.1)."""

from __future__ import annotations

import json

import pytest
from brokers import Login, MqttProbe, NatsCluster, refused, wait_mqtt_ready
from conftest import NATS_USERS

NCC = Login("ncc", NATS_USERS["ncc"])
KIOSK = Login("node.janti.kiosk-1", NATS_USERS["node.janti.kiosk-1"])


@pytest.fixture(scope="module")
def cluster(nats_cluster: NatsCluster) -> NatsCluster:
    for server in nats_cluster.servers:
        wait_mqtt_ready(server.mqtt, NCC)
    return nats_cluster


def test_anonymous_and_wrong_passwords_are_refused(cluster: NatsCluster) -> None:
    mqtt = cluster.servers[0].mqtt
    assert refused(mqtt, None)
    assert refused(mqtt, Login(NCC.username, NCC.password + "x"))


def test_qos1_published_on_one_server_is_received_on_another(cluster: NatsCluster) -> None:
    first, third = cluster.servers[0].mqtt, cluster.servers[2].mqtt
    topic = "brexit/v1/janti/kiosk-1/event"
    sent = [json.dumps({"site": "janti", "node": "kiosk-1", "seq": s}).encode()
            for s in range(1, 21)]
    with MqttProbe(third, NCC, client_id="ncc-nats", clean_session=False) as ncc, \
            MqttProbe(first, KIOSK, client_id="kiosk-nats") as kiosk:
        ncc.subscribe("brexit/v1/+/+/event")
        for payload in sent:
            kiosk.publish(topic, payload)
        got = ncc.collect(lambda r: len({m.payload for m in r}) == len(sent))
    assert {m.payload for m in got} == set(sent)
    assert {(m.topic, m.qos) for m in got} == {(topic, 1)}


def test_retained_status_is_seen_on_every_server(cluster: NatsCluster) -> None:
    birth = b'{"online":true,"session":7}'
    topic = "brexit/v1/janti/kiosk-1/status"
    with MqttProbe(cluster.servers[0].mqtt, KIOSK, client_id="kiosk-status") as kiosk:
        kiosk.publish(topic, birth, retain=True)
    for server in cluster.servers[1:]:
        with MqttProbe(server.mqtt, NCC) as late:
            late.subscribe("brexit/v1/+/+/status")
            got = late.expect(topic)
            assert (got.payload, got.retain) == (birth, True)


def test_mqtt_state_is_replicated_on_all_three_servers(cluster: NatsCluster) -> None:
    replicas = cluster.stream_replicas()
    assert {"$MQTT_msgs", "$MQTT_rmsgs", "$MQTT_sess"} <= set(replicas)
    assert {n for name, n in replicas.items() if name.startswith("$MQTT_")} == {3}
