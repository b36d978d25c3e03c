"""No login can take over another's client id (issue 7, item 5), against real brokers.

Mosquitto lets a second connection with a client id push out the first and take its
session. The client-id plugin (mqtt_config/clientid_plugin.c) refuses a CONNECT whose id
belongs to another login; the victim's connection and persistent session stay as they
were, proven by a round trip on the victim after the attempt.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from brokers import (
    Address,
    BrokerPair,
    Login,
    MqttProbe,
    provisioned_pair,
    refused,
    wait_until,
)

from mqtt_config.render import Account, AccountKind, client_ids, site_accounts

EVENT = "brexit/v1/janti/kiosk-1/event"


def _still_connected(victim: MqttProbe, topic: str) -> bool:
    """A message to ``topic`` (which the victim subscribes) comes back without a reconnect."""
    victim.publish(topic, b"still here")
    victim.expect(topic)
    return victim.disconnects == 0


def test_staff_cannot_steal_the_ncc_session_and_its_queued_events(
    broker_pair: BrokerPair,
) -> None:
    p = broker_pair
    with MqttProbe(p.central, p.ncc, client_id="brexit-ncc", clean_session=False) as ncc:
        ncc.subscribe("brexit/v1/+/+/event")
    with MqttProbe(p.site_lan, p.node()) as kiosk:
        kiosk.publish(EVENT, b'{"seq":1}')  # queued for the NCC's persistent session
    assert refused(p.central, p.staff(), client_id="brexit-ncc", clean_session=False)
    assert refused(p.central, p.staff(p.other_site), client_id="brexit-ncc")
    with MqttProbe(p.central, p.ncc, client_id="brexit-ncc", clean_session=False) as ncc:
        assert ncc.expect(EVENT).payload == b'{"seq":1}'
        assert refused(p.central, p.staff(), client_id="brexit-ncc")
        assert refused(p.central, p.bridge(), client_id="brexit-ncc")
        with MqttProbe(p.site_lan, p.node()) as kiosk:
            kiosk.publish(EVENT, b'{"seq":2}')
        assert ncc.expect(EVENT).payload == b'{"seq":2}'
        assert ncc.disconnects == 0


def test_no_login_can_take_the_bridge_down(broker_pair: BrokerPair) -> None:
    p = broker_pair
    state = f"$SYS/broker/connection/bridge.{p.site_id}/state"
    with MqttProbe(p.site_lan, p.staff()) as watch:
        watch.subscribe(state)
        assert watch.expect(state).payload == b"1"
        assert refused(p.central, p.staff(), client_id="bridge.janti")
        assert refused(p.central, p.ncc, client_id="bridge.janti")
        assert refused(p.central, p.bridge(p.other_site), client_id="bridge.janti")
        assert refused(p.site_lan, p.staff(), client_id="bridge.janti")
        with MqttProbe(p.central, p.ncc) as ncc, MqttProbe(p.site_lan, p.node()) as kiosk:
            ncc.subscribe(EVENT)
            kiosk.publish(EVENT, b"after")
            assert ncc.expect(EVENT).payload == b"after"


def test_a_node_cannot_disconnect_another_node(broker_pair: BrokerPair) -> None:
    p = broker_pair
    own = "brexit/v1/janti/kiosk-1/status"
    with MqttProbe(p.site_lan, p.node(), client_id="brexit-janti-kiosk-1") as kiosk:
        kiosk.subscribe(own)
        assert refused(p.site_lan, p.node("caller-1"), client_id="brexit-janti-kiosk-1")
        assert refused(p.site_tls, p.node("caller-1"), client_id="brexit-janti-kiosk-1-old")
        assert refused(p.site_lan, p.staff(), client_id="brexit-janti-kiosk-1")
        assert refused(p.site_lan, p.node("caller-1"), client_id="node.janti.kiosk-1")
        assert _still_connected(kiosk, own)


@pytest.mark.parametrize(
    ("where", "who", "client_id"),
    [
        ("site_lan", "node", "brexit-janti-kiosk-1"),  # edge.mqtt.link's default
        ("site_tls", "node", "brexit-janti-kiosk-1-old"),  # a second tool on the node
        ("site_lan", "node", "node.janti.kiosk-1"),
        ("site_lan", "node", ""),  # Mosquitto names it auto-<uuid>
        ("site_lan", "staff", ""),
        ("site_lan", "staff", "staff.janti-loket-2"),
        ("central", "ncc", "brexit-ncc"),  # ncc.ingest's default
        ("central", "ncc", "brexit-ncc-dashboard"),
        ("central", "staff", "staff.janti"),
    ],
)
def test_each_login_connects_with_its_own_client_ids(
    broker_pair: BrokerPair, where: str, who: str, client_id: str
) -> None:
    login: Login = broker_pair.ncc if who == "ncc" else getattr(broker_pair, who)()
    address: Address = getattr(broker_pair, where)
    assert not refused(address, login, client_id=client_id)


@pytest.mark.parametrize(
    "client_id", ["random-id", "mosq-123", "bridge.arjuno", "brexit-arjuno-kiosk-1", "brexit-ncc"]
)
def test_a_client_id_not_its_own_is_refused(broker_pair: BrokerPair, client_id: str) -> None:
    assert refused(broker_pair.site_lan, broker_pair.node(), client_id=client_id)


def test_longest_pattern_decides_between_similar_node_ids(tmp_path: Path) -> None:
    """kiosk-1 owns ``brexit-janti-kiosk-1-*`` but not node kiosk-1-2's own id."""
    pair = provisioned_pair(tmp_path, nodes=("kiosk-1", "kiosk-1-2"))
    try:
        lan = pair.site_lan
        assert refused(lan, pair.node("kiosk-1"), client_id="brexit-janti-kiosk-1-2")
        assert refused(lan, pair.node("kiosk-1"), client_id="brexit-janti-kiosk-1-2-x")
        assert not refused(lan, pair.node("kiosk-1-2"), client_id="brexit-janti-kiosk-1-2")
        assert not refused(lan, pair.node("kiosk-1"), client_id="brexit-janti-kiosk-1-3")
    finally:
        pair.close()


def test_no_two_accounts_share_a_client_id_pattern() -> None:
    accounts = [*site_accounts("janti", ["kiosk-1", "kiosk-1-2", "staff"]),
                *site_accounts("janti-2", ["kiosk-1"]), Account(AccountKind.NCC)]
    patterns = [cid for a in accounts for cid in client_ids(a)]
    assert len(patterns) == len(set(patterns))


def test_client_ids_still_hold_after_a_reload(broker_pair: BrokerPair) -> None:
    """``systemctl reload`` (SIGHUP): clients without an id still get one a login may use."""
    p = broker_pair
    p.site_broker.reload()
    wait_until(lambda: "Reloading config." in p.site_broker.log.read_text(errors="replace"),
               "the site broker to reload")
    assert not refused(p.site_lan, p.node())
    assert not refused(p.site_lan, p.node(), client_id="brexit-janti-kiosk-1")
    assert refused(p.site_lan, p.node("caller-1"), client_id="brexit-janti-kiosk-1")
