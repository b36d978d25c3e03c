"""Delivery proofs: nothing is lost and nothing counted twice when the central broker is
SIGKILLed during traffic, and the same contract on a 3-server NATS JetStream cluster's MQTT
gateway. The consumer is ncc.ingest (dedupes by (site, node, seq), acks contiguous seq)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from brokers import Address, BrokerPair, Login, MqttProbe, NatsCluster, wait_mqtt_ready, wait_until
from conftest import NATS_USERS
from test_mqtt_link import TOPICS, LiveNode, assert_valid, payloads_on, until_topic

from edge.mqtt.link import LinkOptions
from ncc.ingest import Ingest

DELIVERY_TIMEOUT_S = 90.0  # a guard against a hung test, never a pass/fail threshold
FAST_RETRY = LinkOptions(backoff_min_s=0.2, backoff_max_s=1.0)


def ingest_at(db: Path, address: Address, login: Login) -> Ingest:
    return Ingest(db, host=address.host, port=address.port, username=login.username,
                  password=login.password, tls_ca=address.ca)


def assert_every_event_once(ncc: Ingest, live: LiveNode, total: int) -> None:
    """The NCC holds seq 1..total exactly, and one ticket.issued per ticket the node has."""
    wait_until(lambda: ncc.seqs("janti", "kiosk-1") == list(range(1, total + 1)),
               f"seq 1..{total} at the NCC", DELIVERY_TIMEOUT_S)
    wait_until(lambda: live.link.state().backlog == 0, "the outbox to empty", DELIVERY_TIMEOUT_S)
    issued = [e["data"]["number"] for e in ncc.events("janti", "kiosk-1")
              if e["type"] == "ticket.issued"]
    assert issued == [t.number for t in live.node.ctx.engine.tickets()]
    assert ncc.contiguous("janti", "kiosk-1") == total
    assert ncc.stats().rejected == 0


class Traffic:
    """Tickets issued on a thread, as a busy morning does, while the test breaks things."""

    def __init__(self, live: LiveNode, count: int) -> None:
        self.live, self.count, self.issued = live, count, 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for _ in range(self.count):
            self.live.issue(1, service="ABCD"[self.issued % 4])
            self.issued += 1
            time.sleep(0.005)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.join()


def test_central_broker_killed_during_traffic_loses_nothing(
    broker_pair: BrokerPair, tmp_path: Path
) -> None:
    central = broker_pair.central_broker
    with ingest_at(tmp_path / "ncc.db", broker_pair.central, broker_pair.ncc) as ncc, \
            LiveNode(tmp_path / "node", broker_pair.site_lan, broker_pair.node(),
                     options=FAST_RETRY) as live:
        with Traffic(live, 300) as traffic:
            wait_until(lambda: len(ncc.seqs("janti", "kiosk-1")) >= 30, "traffic to flow")
            central.kill()
            at_kill = traffic.issued
            wait_until(lambda: traffic.issued >= at_kill + 60, "traffic during the outage")
            central.start()
        assert_every_event_once(ncc, live, total=301)  # queue.reset + 300 tickets
    assert central.running


def test_ncc_offline_then_back_gets_everything_once(
    broker_pair: BrokerPair, tmp_path: Path
) -> None:
    """The NCC itself goes away and comes back with a new session: the node re-sends."""
    with LiveNode(tmp_path / "node", broker_pair.site_lan, broker_pair.node()) as live:
        with ingest_at(tmp_path / "ncc.db", broker_pair.central, broker_pair.ncc) as ncc:
            live.issue(20)
            wait_until(lambda: ncc.contiguous("janti", "kiosk-1") == 21, "first batch")
        live.issue(20)
        wait_until(lambda: live.link.state().backlog == 20, "20 events kept, not acked")
        with ingest_at(tmp_path / "ncc.db", broker_pair.central, broker_pair.ncc) as ncc:
            assert_every_event_once(ncc, live, total=41)


def test_same_delivery_on_a_nats_jetstream_cluster(
    nats_cluster: NatsCluster, tmp_path: Path
) -> None:
    """Node on server 1, NCC on server 2, an observer on server 3; MQTT 3.1.1 only."""
    node_login = Login("node.janti.kiosk-1", NATS_USERS["node.janti.kiosk-1"])
    ncc_login = Login("ncc", NATS_USERS["ncc"])
    servers = [s.mqtt for s in nats_cluster.servers]
    for address in servers:
        wait_mqtt_ready(address, ncc_login)
    with MqttProbe(servers[2], ncc_login) as watch:
        watch.subscribe("brexit/v1/janti/#")
        with LiveNode(tmp_path / "node", servers[0], node_login, options=FAST_RETRY) as live:
            with ingest_at(tmp_path / "ncc.db", servers[1], ncc_login) as ncc:
                live.issue(25)
                wait_until(lambda: ncc.contiguous("janti", "kiosk-1") == 26, "first batch",
                           DELIVERY_TIMEOUT_S)
            live.issue(25)  # the NCC is away
            with ingest_at(tmp_path / "ncc.db", servers[1], ncc_login) as ncc:
                assert_every_event_once(ncc, live, total=51)
            seen = watch.collect(until_topic(TOPICS.queue, lambda p: p["waiting"]["A"] > 0))
        seen += watch.collect(until_topic(TOPICS.status, lambda p: not p["online"]))
    assert assert_valid(seen) >= 3
    statuses = payloads_on(seen, TOPICS.status)
    assert statuses[-1]["online"] is False and statuses[-1]["session"] == 1
