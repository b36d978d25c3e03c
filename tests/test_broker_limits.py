"""Oversized messages never reach a subscriber (issue 7, item 7), on real brokers.

``message_size_limit`` (16 KiB of payload) makes Mosquitto acknowledge and drop a larger
publish; ``max_packet_size`` disconnects a sender before the broker reads a huge packet.
Not-delivered is proven with a marker published after it (see test_broker_acl.py).
"""

from __future__ import annotations

from brokers import BrokerPair, MqttProbe, Received, wait_until

from mqtt_config.render import MESSAGE_SIZE_LIMIT

CMD = "brexit/v1/janti/kiosk-1/cmd/announce"
MARKER = b"marker"


def _payloads(received: list[Received]) -> list[int]:
    return [len(m.payload) for m in received if m.payload != MARKER]


def _until_marker(received: list[Received]) -> bool:
    return any(m.payload == MARKER for m in received)


def test_a_command_just_over_the_limit_is_dropped_on_the_site(broker_pair: BrokerPair) -> None:
    p = broker_pair
    with MqttProbe(p.site_lan, p.node()) as kiosk, MqttProbe(p.site_lan, p.staff()) as staff:
        kiosk.subscribe(CMD)
        staff.publish(CMD, b"x" * (MESSAGE_SIZE_LIMIT + 1))
        staff.publish(CMD, b"y" * MESSAGE_SIZE_LIMIT)  # exactly the limit: delivered
        staff.publish(CMD, MARKER)
        assert _payloads(kiosk.collect(_until_marker)) == [MESSAGE_SIZE_LIMIT]


def test_a_command_over_the_limit_from_the_ncc_never_comes_down(broker_pair: BrokerPair) -> None:
    p = broker_pair
    with MqttProbe(p.site_lan, p.node()) as kiosk, MqttProbe(p.central, p.ncc) as ncc:
        kiosk.subscribe(CMD)
        ncc.publish(CMD, b"x" * (MESSAGE_SIZE_LIMIT + 1))
        ncc.publish(CMD, MARKER)
        assert _payloads(kiosk.collect(_until_marker)) == []


def test_a_64_mb_command_disconnects_its_sender_and_reaches_no_one(
    broker_pair: BrokerPair,
) -> None:
    p = broker_pair
    with MqttProbe(p.site_lan, p.node()) as kiosk:
        kiosk.subscribe(CMD)
        huge = MqttProbe(p.site_lan, p.staff())
        try:
            assert not huge.connect().is_failure
            huge.client.publish(CMD, b"x" * (64 * 1024 * 1024), qos=1)
            wait_until(lambda: huge.disconnects > 0, "the broker to drop the 64 MB sender")
        finally:
            huge.close()
        with MqttProbe(p.site_lan, p.staff()) as staff:
            staff.publish(CMD, MARKER)
        assert _payloads(kiosk.collect(_until_marker)) == []
