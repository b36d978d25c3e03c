"""One MQTT connection that carries many simulated sites, as a central broker sees the
bridges of many puskesmas: one thread owns the paho client and every node on it.

Every node keeps its own identity, session, epoch, gap-free seq and outbox; the
connection routes each node's acks and commands to it, publishes its health every
``health_interval_s``, re-sends what is not acked (on a new NCC session, and when no ack
came for ``resend_after_s``), and injects faults at ``fault_rate`` per node per hour.
"""

from __future__ import annotations

import heapq
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

from contract.payloads import decode_object, encode
from contract.topics import NCC_STATUS, PREFIX
from ncc.sim import Broker, Publication
from ncc.simulate.check import ContractViolation
from ncc.simulate.model import FAULT_WEIGHTS, Fault, FaultKind, FleetNode, SiteModel

log = logging.getLogger(__name__)

SUBSCRIBE_CHUNK = 400
RESEND_CHECK_S = 5.0
RESEND_MAX_S = 300.0


class Phase(Enum):
    RUN = "run"  # patients, health, faults
    DRAIN = "drain"  # faults repaired; health and re-sends until every outbox is acked
    STOP = "stop"


@dataclass(frozen=True)
class Timing:
    t0: float  # wall time the run started
    start_hour: float  # simulated local hour at t0
    ramp_s: float  # nodes boot at random times within this window
    health_interval_s: float = 30.0
    tick_s: float = 0.5
    resend_after_s: float = 60.0  # as the real node (edge.mqtt.link); doubles up to 300 s
    fault_rate: float = 0.2  # faults per node per hour
    fault_s: float = 150.0  # a fault lasts this long (±30 %)
    will_after_s: float = 45.0  # a site broker publishes a lost node's Will (1.5 keepalive)


class FleetConnection:
    def __init__(self, broker: Broker, sites: list[SiteModel], *, client_id: str,
                 timing: Timing, seed: int) -> None:
        self.broker, self.sites, self.client_id = broker, sites, client_id
        self.timing = timing
        self.rng = random.Random(seed)
        self.phase = Phase.RUN
        self.error: str | None = None
        self.published = 0
        self.held = 0  # publications a site made while its uplink was down (kept, re-sent)
        self.timeout_resends = 0
        self.ncc_resends = 0
        self.connects = 0
        self.faults: list[Fault] = []
        self.fault_counts: Counter[str] = Counter()
        self._online = False
        self._client: mqtt.Client | None = None
        self._thread: threading.Thread | None = None
        self._ncc_session: int | None = None
        self._by_ack: dict[str, tuple[SiteModel, FleetNode]] = {}
        self._by_base: dict[str, tuple[SiteModel, FleetNode]] = {}
        self._boot: list[tuple[float, int, int]] = []  # (at, site index, node index)
        self._health: list[tuple[float, int, int]] = []
        for si, site in enumerate(sites):
            for ni, n in enumerate(site.nodes):
                self._by_ack[n.topics.ack] = (site, n)
                self._by_base[n.topics.base] = (site, n)
                at = timing.t0 + self.rng.uniform(0, timing.ramp_s)
                self._boot.append((at, si, ni))
        heapq.heapify(self._boot)
        self._next_tick = 0.0
        self._next_resend_check = 0.0

    # --- what the fleet reads -----------------------------------------------------------

    def nodes(self) -> Iterable[FleetNode]:
        for site in self.sites:
            yield from site.nodes

    @property
    def online(self) -> bool:
        return self._online

    def unacked(self) -> int:
        return sum(len(n.outbox) for n in self.nodes())

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> FleetConnection:
        self._thread = threading.Thread(target=self._run, name=f"fleet-{self.client_id}",
                                        daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _new_client(self) -> mqtt.Client:
        client = self.broker.client(self.client_id, inflight=1000)
        client.on_connect = self._cb_connect
        client.on_disconnect = self._cb_disconnect
        client.on_message = self._cb_message
        return client

    def _run(self) -> None:
        try:
            self._loop()
        except ContractViolation as e:
            self.error = f"the simulator made a payload the contract rejects: {e}"
            self.phase = Phase.STOP
        except Exception as e:
            log.exception("fleet connection %s failed", self.client_id)
            self.error = f"{self.client_id}: {type(e).__name__}: {e}"
            self.phase = Phase.STOP
        finally:
            if self._client is not None:
                self._client.disconnect()

    def _loop(self) -> None:
        client = self._client = self._new_client()
        connected, backoff = False, 0.2
        while self.phase is not Phase.STOP:
            if not connected:
                try:
                    client.connect(self.broker.host, self.broker.port, keepalive=30)
                    connected, backoff = True, 0.2
                except OSError as e:
                    log.debug("fleet %s: %s", self.client_id, e)
                    time.sleep(backoff)
                    backoff = min(5.0, backoff * 2)
                    continue
            if client.loop(timeout=0.02) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                connected, self._online = False, False
                continue
            now = time.time()
            if self._online and now >= self._next_tick:
                self._next_tick = now + self.timing.tick_s
                self._tick(now)

    # --- paho callbacks (this thread) ----------------------------------------------------

    def _cb_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                    props: Any) -> None:
        if reason.is_failure:
            self.error = f"{self.client_id}: the broker refused: {reason}"
            self.phase = Phase.STOP
            return
        self._online = True
        self.connects += 1
        filters = [(NCC_STATUS, 1)]
        for site in self.sites:
            filters += [(f"{PREFIX}/ncc/ack/{site.id}/+", 1), (f"{PREFIX}/{site.id}/+/cmd/+", 1)]
        for i in range(0, len(filters), SUBSCRIBE_CHUNK):
            client.subscribe(filters[i:i + SUBSCRIBE_CHUNK])
        if self.connects > 1:  # the uplink came back: the sites' retained state again
            for site in self.sites:
                for n in site.nodes:
                    if n.running:
                        self._send(site, [n.status(True), n.health(), *self._resend(n)])

    def _cb_disconnect(self, *args: Any) -> None:
        self._online = False

    def _cb_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == NCC_STATUS:
            self._on_ncc_status(bytes(msg.payload))
            return
        found = self._by_ack.get(msg.topic)
        if found is not None:
            self._on_ack(found[1], bytes(msg.payload))
            return
        base, sep, name = msg.topic.rpartition("/cmd/")
        found = self._by_base.get(base) if sep else None
        if found is not None and not msg.retain and found[1].running and found[0].link_up:
            self._send(found[0], found[1].on_command(name, bytes(msg.payload)))

    def _on_ack(self, n: FleetNode, raw: bytes) -> None:
        before = n.acked
        n.on_ack(raw)
        if n.acked > before:
            n.resend_wait = self.timing.resend_after_s
        if not n.outbox:
            n.unacked_since = None
        elif n.acked > before:
            n.unacked_since = time.time()

    def _on_ncc_status(self, raw: bytes) -> None:
        status = decode_object(raw) or {}
        session = status.get("session")
        if status.get("online") is True and isinstance(session, int) and \
                session != self._ncc_session:
            self._ncc_session = session
            for site in self.sites:
                for n in site.nodes:
                    if n.running and n.outbox:
                        pubs = self._resend(n)
                        self.ncc_resends += len(pubs)
                        self._send(site, pubs)

    # --- publishing -----------------------------------------------------------------------

    def _send(self, site: SiteModel, pubs: list[Publication]) -> None:
        if not site.link_up:
            self.held += len(pubs)
            return
        assert self._client is not None
        now = time.time()
        for topic, payload, retain in pubs:
            self._client.publish(topic, encode(payload), qos=1, retain=retain)
            self.published += 1
            if topic.endswith("/event"):
                n = site.nodes[0] if payload["node"] == site.nodes[0].node else \
                    next(x for x in site.nodes if x.node == payload["node"])
                if n.unacked_since is None:
                    n.unacked_since = now

    @staticmethod
    def _resend(n: FleetNode) -> list[Publication]:
        pubs = n.resend()
        n.resent += len(pubs)
        return pubs

    # --- the tick ---------------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        t = self.timing
        if self.phase is Phase.DRAIN:
            for site in self.sites:
                for f in site.faults:
                    if not f.repaired:
                        self._send(site, site.repair(f, now))
        while self._boot and self._boot[0][0] <= now:
            _, si, ni = heapq.heappop(self._boot)
            site = self.sites[si]
            self._send(site, site.start(site.nodes[ni], now))
            heapq.heappush(self._health, (now + t.health_interval_s, si, ni))
        while self._health and self._health[0][0] <= now:
            due, si, ni = heapq.heappop(self._health)
            site = self.sites[si]
            self._send(site, site.health(site.nodes[ni], now))
            heapq.heappush(self._health, (max(now, due + t.health_interval_s), si, ni))
        if self.phase is Phase.RUN:
            hour = t.start_hour + (now - t.t0) / 3600.0
            for site in self.sites:
                self._send(site, site.step(self.rng, hour, t.tick_s))
                if site.faults:
                    self._send(site, site.due(now))
            self._inject(now)
        if now >= self._next_resend_check:
            self._next_resend_check = now + RESEND_CHECK_S
            self._resend_stale(now)

    def _inject(self, now: float) -> None:
        t = self.timing
        running = sum(1 for n in self.nodes() if n.running)
        expected = t.fault_rate / 3600.0 * running * t.tick_s
        count = int(expected) + (1 if self.rng.random() < expected - int(expected) else 0)
        kinds, weights = list(FAULT_WEIGHTS), list(FAULT_WEIGHTS.values())
        for _ in range(count):
            site = self.rng.choice(self.sites)
            kind = self.rng.choices(kinds, weights)[0]
            lasts = t.fault_s * self.rng.uniform(0.7, 1.3)
            fault, pubs = site.inject(kind, self.rng, now, lasts, t.will_after_s)
            if fault is not None:
                self.faults.append(fault)
                self.fault_counts[kind.value] += 1
                self._send(site, pubs)

    def _resend_stale(self, now: float) -> None:
        """No ack for a while: the outbox again, then twice as long a wait (up to 300 s)."""
        for site in self.sites:
            if not site.link_up:
                continue
            for n in site.nodes:
                wait = n.resend_wait or self.timing.resend_after_s
                if n.running and n.outbox and n.unacked_since is not None and \
                        n.unacked_since < now - wait:
                    pubs = self._resend(n)
                    self.timeout_resends += len(pubs)
                    n.unacked_since = now
                    n.resend_wait = min(RESEND_MAX_S, wait * 2)
                    self._send(site, pubs)

    def faults_open(self) -> list[FaultKind]:
        return [f.kind for f in self.faults if not f.repaired]
