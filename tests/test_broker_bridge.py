"""The site-to-central bridge (TLS) made by `brexit broker`, with real Mosquitto brokers."""

from __future__ import annotations

import json

from brokers import BrokerPair, MqttProbe, Received


def _event(seq: int) -> bytes:
    return json.dumps({"site": "janti", "node": "kiosk-1", "seq": seq}).encode()


def _seqs(received: list[Received]) -> list[int]:
    return [json.loads(m.payload)["seq"] for m in received]


def test_event_goes_up_to_the_central_broker(broker_pair: BrokerPair) -> None:
    p = broker_pair
    with MqttProbe(p.central, p.ncc) as ncc, MqttProbe(p.site_lan, p.node()) as kiosk:
        ncc.subscribe("brexit/v1/+/+/event")
        kiosk.publish("brexit/v1/janti/kiosk-1/event", _event(1))
        got = ncc.expect("brexit/v1/janti/kiosk-1/event")
        assert (got.payload, got.qos) == (_event(1), 1)


def test_retained_status_goes_up_and_stays_retained(broker_pair: BrokerPair) -> None:
    p = broker_pair
    birth = b'{"online":true,"session":3}'
    with MqttProbe(p.site_lan, p.node()) as kiosk, MqttProbe(p.central, p.ncc) as watcher:
        watcher.subscribe("brexit/v1/janti/kiosk-1/status")
        kiosk.publish("brexit/v1/janti/kiosk-1/status", birth, retain=True)
        assert watcher.expect("brexit/v1/janti/kiosk-1/status").payload == birth
    with MqttProbe(p.central, p.ncc) as late:  # connects after: gets the retained copy
        late.subscribe("brexit/v1/janti/+/status")
        got = late.expect("brexit/v1/janti/kiosk-1/status")
        assert (got.payload, got.retain) == (birth, True)


def test_command_ack_and_ncc_status_come_down_to_the_site(broker_pair: BrokerPair) -> None:
    p = broker_pair
    down = {
        "brexit/v1/janti/kiosk-1/cmd/call_next": b'{"id":"c1","counter":2}',
        "brexit/v1/ncc/ack/janti/kiosk-1": b'{"seq":41}',
        "brexit/v1/ncc/status": b'{"online":true}',
    }
    with MqttProbe(p.site_lan, p.node()) as kiosk, MqttProbe(p.central, p.ncc) as ncc:
        kiosk.subscribe("brexit/v1/janti/kiosk-1/cmd/#")
        kiosk.subscribe("brexit/v1/ncc/#")
        for topic, payload in down.items():
            ncc.publish(topic, payload)
        got = kiosk.collect(lambda r: len(r) == len(down))
        assert {m.topic: m.payload for m in got} == down


def test_reply_goes_up_to_the_staff_on_the_central_broker(broker_pair: BrokerPair) -> None:
    p = broker_pair
    with MqttProbe(p.central, p.staff()) as staff, MqttProbe(p.site_lan, p.node()) as kiosk:
        staff.subscribe("brexit/v1/janti/+/reply")
        kiosk.publish("brexit/v1/janti/kiosk-1/reply", b'{"id":"c1","ok":true}')
        assert staff.expect("brexit/v1/janti/kiosk-1/reply").payload == b'{"id":"c1","ok":true}'


def test_events_published_while_central_is_dead_arrive_after_restart(
    broker_pair: BrokerPair,
) -> None:
    """QoS 1 + the bridge's persistent session: the site broker queues for the city.

    Only what the site broker queued is promised here. A message the central broker had
    already acknowledged but not yet saved dies with it on SIGKILL; the node's outbox and
    the NCC's ack cover that (DESIGN.md: a broker queue is never the only copy).
    """
    p = broker_pair
    topic = "brexit/v1/janti/kiosk-1/event"
    with MqttProbe(p.central, p.ncc, client_id="brexit-ncc-consumer", clean_session=False) as ncc, \
            MqttProbe(p.site_lan, p.node()) as kiosk:
        ncc.subscribe("brexit/v1/+/+/event")
        kiosk.publish(topic, _event(1))
        assert _seqs([ncc.expect(topic)]) == [1]
    p.central_broker.kill()
    with MqttProbe(p.site_lan, p.node()) as kiosk:
        for seq in range(2, 52):
            kiosk.publish(topic, _event(seq))  # PUBACKed by the site broker
        p.central_broker.start()
        kiosk.publish(topic, _event(52))
    with MqttProbe(p.central, p.ncc, client_id="brexit-ncc-consumer", clean_session=False) as again:
        got = again.collect(lambda r: set(range(2, 53)) <= set(_seqs(r)))
    assert sorted(set(_seqs(got))) == list(range(2, 53))


def test_site_broker_restart_keeps_the_queue_for_a_dead_central(broker_pair: BrokerPair) -> None:
    """Central dead, then the site broker itself restarts: its queue is on disk."""
    p = broker_pair
    topic = "brexit/v1/janti/kiosk-1/event"
    consumer = MqttProbe(p.central, p.ncc, client_id="brexit-ncc-consumer", clean_session=False)
    with consumer:
        consumer.subscribe("brexit/v1/+/+/event")
    p.central_broker.kill()
    with MqttProbe(p.site_lan, p.node()) as kiosk:
        for seq in range(1, 21):
            kiosk.publish(topic, _event(seq))
    p.site_broker.restart()
    p.central_broker.start()
    p.wait_bridge_up()
    with MqttProbe(p.central, p.ncc, client_id="brexit-ncc-consumer", clean_session=False) as again:
        got = again.collect(lambda r: set(range(1, 21)) <= set(_seqs(r)))
    assert sorted(set(_seqs(got))) == list(range(1, 21))
