"""Who may connect, write and read, against real Mosquitto brokers made by `brexit broker`.

"Not delivered" is proven without waiting for a timeout: the forbidden publish is followed,
once the broker has acknowledged it (QoS 1), by an allowed marker. Mosquitto routes a
message to its subscribers before it sends the PUBACK and delivers to each subscriber in
order, so once the marker has arrived the forbidden message would have arrived before it.
"""

from __future__ import annotations

import pytest
from brokers import Address, BrokerPair, Login, MqttProbe, Received, refused

MARKER = b"marker"


def _until_marker(received: list[Received]) -> bool:
    return any(m.payload == MARKER for m in received)


def _topics(received: list[Received]) -> set[str]:
    return {m.topic for m in received if m.payload != MARKER}


def _publish_then_marker(
    publisher: MqttProbe, forbidden: list[str], marker_topic: str
) -> None:
    for topic in forbidden:
        publisher.publish(topic, b"forged")
    publisher.publish(marker_topic, MARKER)


# --- authentication -------------------------------------------------------------------------

def test_anonymous_clients_are_refused_everywhere(broker_pair: BrokerPair) -> None:
    assert refused(broker_pair.site_lan, None)
    assert refused(broker_pair.site_tls, None)
    assert refused(broker_pair.central, None)


def test_wrong_password_is_refused(broker_pair: BrokerPair) -> None:
    node = broker_pair.node()
    assert refused(broker_pair.site_lan, Login(node.username, node.password + "x"))
    assert refused(broker_pair.central, Login("ncc", broker_pair.ncc.password + "x"))


def test_each_account_logs_in_only_where_it_belongs(broker_pair: BrokerPair) -> None:
    p = broker_pair
    assert not refused(p.site_lan, p.node())
    assert not refused(p.site_tls, p.node("caller-1"))
    assert not refused(p.site_lan, p.staff())
    assert not refused(p.central, p.ncc)
    assert not refused(p.central, p.staff(p.other_site))
    # Nodes talk only to their site broker; the NCC only to the central one; another
    # puskesmas's accounts do not exist on this site broker.
    assert refused(p.central, p.node())
    assert refused(p.site_lan, p.ncc)
    assert refused(p.site_lan, p.staff(p.other_site))
    assert refused(p.site_lan, p.node("kiosk-1", p.other_site))


def test_central_accepts_tls_only_with_the_fleet_ca(broker_pair: BrokerPair) -> None:
    plain = Address(broker_pair.central.host, broker_pair.central.port)
    assert refused(plain, broker_pair.ncc)


# --- nodes -------------------------------------------------------------------------------------

def test_node_cannot_publish_as_another_node_of_its_site(broker_pair: BrokerPair) -> None:
    p = broker_pair
    with MqttProbe(p.site_lan, p.staff()) as staff, MqttProbe(p.site_lan, p.node()) as kiosk:
        staff.subscribe("brexit/v1/janti/#")
        _publish_then_marker(
            kiosk,
            [f"brexit/v1/janti/caller-1/{leaf}" for leaf in ("event", "status", "health")],
            "brexit/v1/janti/kiosk-1/event",
        )
        assert _topics(staff.collect(_until_marker)) == set()


@pytest.mark.parametrize(
    "forged",
    [
        "brexit/v1/arjuno/kiosk-1/event",
        "brexit/v1/arjuno/kiosk-1/status",
        "brexit/v1/arjuno/queue",
        "brexit/v1/ncc/ack/janti/kiosk-1",
        "brexit/v1/ncc/status",
        "brexit/v1/janti/caller-1/cmd/call_next",
    ],
)
def test_node_cannot_write_outside_its_own_topics(broker_pair: BrokerPair, forged: str) -> None:
    """Seen from the NCC on the central broker, through the bridge."""
    p = broker_pair
    with MqttProbe(p.central, p.ncc) as ncc, MqttProbe(p.site_lan, p.node()) as kiosk:
        ncc.subscribe("brexit/v1/#")
        _publish_then_marker(kiosk, [forged], "brexit/v1/janti/kiosk-1/event")
        assert _topics(ncc.collect(_until_marker)) == set()


def test_node_writes_its_own_topics_and_the_site_queue(broker_pair: BrokerPair) -> None:
    p = broker_pair
    own = [f"brexit/v1/janti/kiosk-1/{leaf}" for leaf in ("status", "health", "event", "reply")]
    with MqttProbe(p.central, p.ncc) as ncc, MqttProbe(p.site_lan, p.node()) as kiosk:
        ncc.subscribe("brexit/v1/#")
        _publish_then_marker(kiosk, [*own, "brexit/v1/janti/queue"], own[2])
        assert _topics(ncc.collect(_until_marker)) == {*own, "brexit/v1/janti/queue"}


def test_node_reads_only_its_own_commands_and_acks(broker_pair: BrokerPair) -> None:
    p = broker_pair
    with MqttProbe(p.site_lan, p.node()) as kiosk, MqttProbe(p.central, p.ncc) as ncc:
        kiosk.subscribe("brexit/v1/#")
        ncc.publish("brexit/v1/janti/caller-1/cmd/call_next", b"not yours")
        ncc.publish("brexit/v1/ncc/ack/janti/caller-1", b"not yours")
        ncc.publish("brexit/v1/janti/kiosk-1/cmd/selftest", MARKER)
        assert _topics(kiosk.collect(_until_marker)) == set()


# --- staff --------------------------------------------------------------------------------------

def test_staff_cannot_command_another_site(broker_pair: BrokerPair) -> None:
    p = broker_pair
    with MqttProbe(p.central, p.ncc) as ncc, MqttProbe(p.central, p.staff()) as staff:
        ncc.subscribe("brexit/v1/#")
        _publish_then_marker(
            staff,
            ["brexit/v1/arjuno/kiosk-1/cmd/call_next", "brexit/v1/janti/kiosk-1/event",
             "brexit/v1/ncc/ack/janti/kiosk-1"],
            "brexit/v1/janti/kiosk-1/cmd/call_next",
        )
        got = ncc.collect(_until_marker)
        assert _topics(got) == set()
        assert got[-1].topic == "brexit/v1/janti/kiosk-1/cmd/call_next"


def test_staff_command_on_the_site_reaches_the_node(broker_pair: BrokerPair) -> None:
    p = broker_pair
    with MqttProbe(p.site_lan, p.node()) as kiosk, MqttProbe(p.site_lan, p.staff()) as staff:
        kiosk.subscribe("brexit/v1/janti/kiosk-1/cmd/#")
        staff.publish("brexit/v1/janti/kiosk-1/cmd/recall", b'{"id":"x"}')
        assert kiosk.expect("brexit/v1/janti/kiosk-1/cmd/recall").payload == b'{"id":"x"}'


def test_staff_cannot_read_another_sites_traffic(broker_pair: BrokerPair) -> None:
    p = broker_pair
    with MqttProbe(p.central, p.staff(p.other_site)) as other, \
            MqttProbe(p.central, p.bridge()) as janti, \
            MqttProbe(p.central, p.bridge(p.other_site)) as arjuno:
        other.subscribe("brexit/v1/#")
        for leaf in ("reply", "status", "event", "health"):
            janti.publish(f"brexit/v1/janti/kiosk-1/{leaf}", b"janti only")
        janti.publish("brexit/v1/janti/queue", b"janti only")
        arjuno.publish("brexit/v1/arjuno/kiosk-1/reply", MARKER)
        assert [m.topic for m in other.collect(_until_marker)] == [
            "brexit/v1/arjuno/kiosk-1/reply"
        ]


# --- NCC and bridge account ---------------------------------------------------------------

def test_ncc_reads_everything(broker_pair: BrokerPair) -> None:
    p = broker_pair
    with MqttProbe(p.central, p.ncc) as ncc, \
            MqttProbe(p.central, p.bridge(p.other_site)) as arjuno_bridge, \
            MqttProbe(p.site_lan, p.node("caller-1")) as caller:
        ncc.subscribe("brexit/v1/#")
        arjuno_bridge.publish("brexit/v1/arjuno/kiosk-1/health", b"{}")
        arjuno_bridge.publish("brexit/v1/arjuno/queue", b"{}")
        caller.publish("brexit/v1/janti/caller-1/status", b"{}", retain=True)
        caller.publish("brexit/v1/janti/caller-1/event", MARKER)
        assert _topics(ncc.collect(_until_marker)) == {
            "brexit/v1/arjuno/kiosk-1/health",
            "brexit/v1/arjuno/queue",
            "brexit/v1/janti/caller-1/status",
        }


def test_a_sites_bridge_account_cannot_forge_another_site(broker_pair: BrokerPair) -> None:
    p = broker_pair
    with MqttProbe(p.central, p.ncc) as ncc, MqttProbe(p.central, p.bridge()) as bridge:
        ncc.subscribe("brexit/v1/#")
        _publish_then_marker(
            bridge,
            ["brexit/v1/arjuno/kiosk-1/event", "brexit/v1/arjuno/queue",
             "brexit/v1/ncc/ack/janti/kiosk-1", "brexit/v1/janti/kiosk-1/cmd/skip"],
            "brexit/v1/janti/kiosk-1/event",
        )
        assert _topics(ncc.collect(_until_marker)) == set()


def test_ncc_writes_only_acks_its_status_and_commands(broker_pair: BrokerPair) -> None:
    p = broker_pair
    with MqttProbe(p.central, p.ncc) as watcher, MqttProbe(p.central, p.ncc) as ncc:
        watcher.subscribe("brexit/v1/#")
        _publish_then_marker(
            ncc,
            ["brexit/v1/janti/kiosk-1/event", "brexit/v1/janti/kiosk-1/status",
             "brexit/v1/janti/queue", "brexit/v1/janti/kiosk-1/reply"],
            "brexit/v1/janti/kiosk-1/cmd/selftest",
        )
        assert _topics(watcher.collect(_until_marker)) == set()
        ncc.publish("brexit/v1/ncc/ack/janti/kiosk-1", b'{"seq":1}')
        ncc.publish("brexit/v1/ncc/status", MARKER)
        assert [m.topic for m in watcher.collect(_until_marker)] == [
            "brexit/v1/ncc/ack/janti/kiosk-1", "brexit/v1/ncc/status"
        ]
