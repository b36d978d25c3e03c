"""``ncc.mqttclient.BurstClient`` on a real Mosquitto: a backlog arrives whole, in order, in
far fewer system calls than messages, and every message is PUBACKed (nothing comes again
on the next connect). Fails when paho stops calling the overridden private methods."""

from __future__ import annotations

import select
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from ncc.bench.broker import HOST, BenchBroker
from ncc.mqttclient import RECV_BYTES, BurstClient

TOPIC = "brexit/v1/janti/k1/event"
SESSION = "burst-test"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[BenchBroker]:
    with BenchBroker(tmp_path) as b:
        yield b


def payloads() -> list[bytes]:
    """Small messages around two larger than one read (so paho's own path reads those)."""
    small = [b'{"seq": %d}' % i for i in range(1500)]
    big = [bytes([65 + i]) * (RECV_BYTES + 1000 * i) for i in range(2)]
    return small[:700] + big[:1] + small[700:] + big[1:]


def plain_client(client_id: str, *, clean: bool = True) -> mqtt.Client:
    return mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean,
                       protocol=mqtt.MQTTv311)


def publish_all(port: int, messages: list[bytes]) -> None:
    pub = plain_client("burst-test-pub")
    pub.max_inflight_messages_set(100)
    pub.max_queued_messages_set(0)
    pub.connect(HOST, port)
    pub.loop_start()
    try:
        infos = [pub.publish(TOPIC, m, qos=1) for m in messages]
        for info in infos:
            info.wait_for_publish(30)
            assert info.is_published()
    finally:
        pub.loop_stop()
        pub.disconnect()


def make_session(port: int) -> None:
    c = plain_client(SESSION, clean=False)
    subscribed: list[int] = []
    c.on_subscribe = lambda *a: subscribed.append(1)
    c.connect(HOST, port)
    c.loop_start()
    c.subscribe(TOPIC, qos=1)
    deadline = time.monotonic() + 30
    while not subscribed and time.monotonic() < deadline:
        time.sleep(0.01)
    c.loop_stop()
    c.disconnect()


def drive(client: BurstClient, done: Callable[[], bool], timeout: float = 60) -> None:
    """The owner's loop, as ``ncc.ingest`` runs it: select, read, write, misc."""
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        sock = client.socket()
        assert sock is not None, "disconnected"
        writers = [sock] if client.want_write() else []
        readable = client.buffered() or select.select([sock], writers, [], 0.2)[0]
        if readable:
            client.loop_read()
        if client.want_write():
            client.loop_write()
        client.loop_misc()


def close(client: BurstClient) -> None:
    """A QoS 1 publication after the PUBACKs: once the broker acknowledges it, it has read
    them all (one connection is read in order), so a next connect cannot overtake them."""
    barrier = client.publish("burst-test/barrier", b"x", qos=1)
    drive(client, barrier.is_published)
    client.disconnect()
    client.loop_write()


def test_a_backlog_arrives_whole_in_order_and_acked_in_few_system_calls(
        broker: BenchBroker) -> None:
    messages = payloads()
    make_session(broker.port)
    publish_all(broker.port, messages)

    got: list[tuple[str, bytes, bool]] = []
    client = BurstClient(CallbackAPIVersion.VERSION2, client_id=SESSION, clean_session=False,
                         protocol=mqtt.MQTTv311)
    client.on_burst = lambda topic, payload, retained: got.append((topic, payload, retained))
    client.on_message = lambda c, u, m: got.append((m.topic, bytes(m.payload), m.retain))
    client.connect(HOST, broker.port)
    drive(client, lambda: len(got) >= len(messages))
    close(client)

    assert [p for _, p, _ in got] == messages
    assert {t for t, _, _ in got} == {TOPIC} and not any(r for _, _, r in got)
    assert client.fast_messages > 0.9 * len(messages)  # the burst path, not paho's per message
    # paho alone: 3-4 recv and one send a message; here about one of each per read burst
    # (a send can be split when the socket buffer is full: never one per message though)
    assert 0 < client.recv_calls < len(messages) / 2
    assert 0 < client.send_calls < len(messages) / 2

    # Every message was PUBACKed: the session holds nothing but what is published next.
    again: list[bytes] = []
    probe = plain_client(SESSION, clean=False)
    probe.on_message = lambda c, u, m: again.append(bytes(m.payload))
    probe.connect(HOST, broker.port)
    probe.loop_start()
    try:
        publish_all(broker.port, [b"marker"])
        deadline = time.monotonic() + 30
        while not again and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        probe.loop_stop()
        probe.disconnect()
    assert again[:1] == [b"marker"]


def test_without_on_burst_it_is_paho_with_buffered_reads(broker: BenchBroker) -> None:
    messages = [b"m%d" % i for i in range(300)]
    make_session(broker.port)
    publish_all(broker.port, messages)
    got: list[bytes] = []
    client = BurstClient(CallbackAPIVersion.VERSION2, client_id=SESSION, clean_session=False,
                         protocol=mqtt.MQTTv311)
    client.on_message = lambda c, u, m: got.append(bytes(m.payload))
    client.connect(HOST, broker.port)
    drive(client, lambda: len(got) >= len(messages))
    close(client)
    assert got == messages
    # paho alone reads 3-4 times a message; buffered, a read carries many (how many
    # depends on how the broker's writes reach the socket: never one a message)
    assert client.fast_messages == 0 and 0 < client.recv_calls < len(messages) / 2
