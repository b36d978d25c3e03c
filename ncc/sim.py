"""Light simulated nodes that speak the real contract (for ``brexit ncc demo`` and tests;
the fleet simulator grows from here).

Many nodes share a few MQTT connections (one per site, as a site's bridge carries all its
nodes), yet each keeps its own identity, session, epoch and gap-free seq, keeps its events
in an outbox until the NCC's ack covers them and re-sends on every (re)connect and when the
NCC comes online. Every payload is checked against the contract's JSON Schemas before it
is published (``SimNode`` raises rather than publish what they reject).

A shared connection has one Will, not one per node: when it drops, its nodes fall silent
(no health) rather than offline; a node that "goes away" says offline itself.

>>> site = SimSite("janti", services=("A", "B"), counters=(1, 2))
>>> kiosk = SimNode(site, "kios-1", roles=("kiosk", "broker"), epoch="e1")
>>> [t for t, _, _ in kiosk.connect()][:1]
['brexit/v1/janti/kios-1/status']
>>> topic, payload, retain = kiosk.issue("A")[0]
>>> topic, payload["seq"], payload["data"]["number"]
('brexit/v1/janti/kios-1/event', 1, 'A-001')
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from contract.payloads import JAKARTA, decode_object, encode, now_iso
from contract.topics import NCC_STATUS, NodeTopics
from ncc.messages import schemas

log = logging.getLogger(__name__)

Publication = tuple[str, dict[str, Any], bool]  # topic, payload, retain
VERSION = "0.1.0"
ROLE_MAP = {"broker": "main"}  # fleet roles -> the status schema's roles


def _status_roles(roles: Iterable[str]) -> list[str]:
    allowed = set(schemas().validators["status"].schema["properties"]["roles"]["items"]["enum"])
    out = []
    for r in roles:
        mapped = ROLE_MAP.get(r, r)
        if mapped in allowed and mapped not in out:
            out.append(mapped)
    return out


@dataclass
class SimSite:
    """The site's shared queue: tickets waiting per service, serving per counter."""

    id: str
    services: tuple[str, ...]
    counters: tuple[int, ...]
    waiting: dict[str, list[str]] = field(default_factory=dict)
    serving: dict[int, str | None] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)
    last_called: dict[str, Any] | None = None

    def next_number(self, service: str) -> str:
        self.numbers[service] = self.numbers.get(service, 0) + 1
        return f"{service}-{self.numbers[service]:03d}"

    def snapshot(self) -> dict[str, Any]:
        return {
            "ts": now_iso(),
            "waiting": {s: len(self.waiting.get(s, [])) for s in self.services},
            "serving": {str(c): self.serving.get(c) for c in self.counters},
            "last_called": self.last_called,
        }


class SimNode:
    """One simulated node: its contract state and the payloads it would publish."""

    def __init__(self, site: SimSite, node: str, *, roles: Iterable[str],
                 epoch: str | None = None, counters: Iterable[int] = (),
                 backlog_warn: int = 500) -> None:
        self.site, self.node = site, node
        self.topics = NodeTopics(site.id, node)
        self.roles = tuple(roles)
        self.counters = tuple(counters)
        self.epoch = epoch or uuid.uuid4().hex
        self.session = 0
        self.seq = 0
        self.acked = 0
        self.outbox: dict[int, dict[str, Any]] = {}
        self.devices: dict[str, str] = {"printer": "ok", "embosser": "ok", "cells": "ok",
                                        "speaker": "ok"}
        self.buttons_stuck: list[str] = []
        self.backlog_warn = backlog_warn
        self.present = True  # False while the node is "gone"
        self.stuck = False  # True: status online but no health (a silent node)
        self.started = time.monotonic()
        self.replies: dict[str, dict[str, Any]] = {}
        self.cert_not_after = time.time() + 300 * 86400
        self.clock_offset_s = 0.0
        self.version = VERSION

    # --- checked payloads -----------------------------------------------------------------

    @staticmethod
    def _checked(schema: str, payload: dict[str, Any]) -> dict[str, Any]:
        schemas().validate(schema, payload)
        return payload

    def status(self, online: bool) -> Publication:
        payload = {"online": online, "session": self.session, "ts": now_iso(),
                   "version": self.version, "roles": _status_roles(self.roles),
                   "epoch": self.epoch}
        return self.topics.status, self._checked("status", payload), True

    def connect(self) -> list[Publication]:
        """A new session: birth, health, and every unacked event again."""
        self.session += 1
        return [self.status(True), self.health(), *self.resend()]

    def resend(self) -> list[Publication]:
        return [(self.topics.event, self.outbox[s], False) for s in sorted(self.outbox)]

    def health(self) -> Publication:
        backlog = len(self.outbox)
        ts = time.time() + self.clock_offset_s
        payload: dict[str, Any] = {
            **self.devices,
            "buttons": {"state": "stuck" if self.buttons_stuck else "ok",
                        "stuck": list(self.buttons_stuck)},
            "ts": _iso(ts),
            "version": self.version,
            "session": max(1, self.session),
            "uptime_s": round(time.monotonic() - self.started, 1),
            "system": {"cpu_temp_c": round(45 + random.random() * 10, 1),
                       "disk_free_bytes": 20_000_000_000, "disk_total_bytes": 32_000_000_000,
                       "disk_used_pct": 37.5, "mem_available_bytes": 2_000_000_000,
                       "mem_total_bytes": 4_000_000_000, "uptime_s": 86_400.0,
                       "clock_synced": True},
            "outbox": {"backlog": backlog, "acked_seq": self.acked, "last_seq": self.seq,
                       "warn_above": self.backlog_warn, "warning": backlog > self.backlog_warn},
            "certificates": [{
                "name": "ca", "not_after": _iso(self.cert_not_after),
                "days_left": int((self.cert_not_after - time.time()) // 86400),
                "state": "ok" if self.cert_not_after - time.time() > 30 * 86400 else "warning",
            }],
        }
        return self.topics.health, self._checked("health", payload), True

    def event(self, kind: str, data: dict[str, Any]) -> list[Publication]:
        self.seq += 1
        envelope = {"id": str(uuid.uuid4()), "site": self.site.id, "node": self.node,
                    "epoch": self.epoch, "seq": self.seq, "ts": now_iso(), "type": kind,
                    "data": data}
        envelope = self._checked("event", envelope)
        self.outbox[self.seq] = envelope
        return [(self.topics.event, envelope, False)]

    def queue(self) -> Publication:
        return self.topics.queue, self._checked("queue", self.site.snapshot()), True

    # --- behaviour ---------------------------------------------------------------------------

    def issue(self, service: str, *, assisted: bool = False) -> list[Publication]:
        number = self.site.next_number(service)
        waiting = self.site.waiting.setdefault(service, [])
        out = self.event("ticket.issued", {"number": number, "service": service,
                                           "assisted": assisted, "ahead": len(waiting)})
        waiting.append(number)
        return [*out, self.queue()]

    def call_next(self, counter: int) -> list[Publication]:
        out: list[Publication] = []
        current = self.site.serving.get(counter)
        if current is not None:
            out += self.event("ticket.completed", {"number": current, "counter": counter})
            self.site.serving[counter] = None
        for service in self.site.services:
            waiting = self.site.waiting.get(service)
            if waiting:
                number = waiting.pop(0)
                self.site.serving[counter] = number
                self.site.last_called = {"number": number, "counter": counter, "ts": now_iso()}
                out += self.event("ticket.called", {"number": number, "service": service,
                                                    "counter": counter})
                break
        return [*out, self.queue()]

    def skip(self, counter: int) -> list[Publication]:
        current = self.site.serving.get(counter)
        if current is None:
            return []
        self.site.serving[counter] = None
        return [*self.event("ticket.skipped", {"number": current, "counter": counter}),
                self.queue()]

    def fault(self, device: str, state: str) -> list[Publication]:
        self.devices[device] = state
        return [*self.event("device.fault", {"device": device, "state": state}), self.health()]

    def recover(self, device: str) -> list[Publication]:
        self.devices[device] = "ok"
        return [*self.event("device.recovered", {"device": device, "state": "ok"}),
                self.health()]

    def on_ack(self, raw: bytes) -> None:
        ack = decode_object(raw) or {}
        seq, epoch = ack.get("seq"), ack.get("epoch")
        if not isinstance(seq, int) or epoch != self.epoch:
            return
        if seq > self.seq:
            return  # an ack above what we sent: another node's, or a wrong one
        for s in [s for s in self.outbox if s <= seq]:
            del self.outbox[s]
        self.acked = max(self.acked, seq)

    def on_command(self, name: str, raw: bytes) -> list[Publication]:
        cmd = decode_object(raw)
        command_id = cmd.get("id") if cmd else None
        if not isinstance(command_id, str):
            return [self._reply({"id": None, "ok": False, "error": "missing id"})]
        if command_id in self.replies:
            return [self._reply(self.replies[command_id])]
        problems = (schemas().errors(f"cmd/{name}", cmd)
                    if name in schemas().command_names else [f"unknown command {name!r}"])
        out: list[Publication] = []
        if problems:
            reply = {"id": command_id, "ok": False, "error": problems[0][:200]}
        else:
            reply, out = self._execute(name, cmd or {}, command_id)
        self.replies[command_id] = reply
        return [*out, self._reply(reply)]

    def _execute(self, name: str, cmd: dict[str, Any],
                 command_id: str) -> tuple[dict[str, Any], list[Publication]]:
        if name == "selftest":
            return {"id": command_id, "ok": True, "data": {"devices": dict(self.devices)}}, []
        if name == "announce":
            return {"id": command_id, "ok": True, "data": {"spoken": cmd["text"]}}, []
        if name == "reprint":
            if self.devices.get("printer") != "ok":
                return {"id": command_id, "ok": False,
                        "error": f"printer {self.devices.get('printer')}"}, []
            return {"id": command_id, "ok": True, "data": {"number": cmd["number"]}}, []
        if name in ("call_next", "skip") and cmd["counter"] in self.site.counters:
            out = self.call_next(cmd["counter"]) if name == "call_next" else \
                self.skip(cmd["counter"])
            return {"id": command_id, "ok": True,
                    "data": {"serving": self.site.serving.get(cmd["counter"])}}, out
        return {"id": command_id, "ok": False, "error": f"{name} is not done by this node"}, []

    def _reply(self, reply: dict[str, Any]) -> Publication:
        return self.topics.reply, self._checked("reply", reply), False


def _iso(t: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(t, JAKARTA).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls_ca: str | None = None

    def client(self, client_id: str, *, inflight: int | None = None) -> mqtt.Client:
        """A clean-session MQTT 3.1.1 paho client for this broker (login and TLS set, no
        queue limit; callbacks and connecting are the caller's)."""
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                             clean_session=True, protocol=mqtt.MQTTv311)
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        if self.tls_ca is not None:
            client.tls_set(ca_certs=self.tls_ca)
        if inflight is not None:
            client.max_inflight_messages_set(inflight)
        client.max_queued_messages_set(0)
        return client


class SimConnection:
    """One MQTT connection carrying several nodes; one thread owns the client and the nodes.

    ``behave(conn, now)`` runs on that thread every ``tick_s`` and returns what to publish.
    """

    def __init__(self, broker: Broker, nodes: list[SimNode], *, client_id: str,
                 behave: Callable[[SimConnection, float], list[Publication]] | None = None,
                 health_interval_s: float = 30.0, tick_s: float = 0.2,
                 resend_after_s: float = 10.0) -> None:
        self.broker, self.nodes = broker, {n.node: n for n in nodes}
        self.client_id = client_id
        self.behave = behave
        self.health_interval_s, self.tick_s = health_interval_s, tick_s
        self.resend_after_s = resend_after_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: mqtt.Client | None = None
        self._online = False
        self._health_due: dict[str, float] = {}
        self._ncc_session: int | None = None
        self._last_ack = time.monotonic()
        self._actions: list[Callable[[SimConnection], list[Publication]]] = []
        self._lock = threading.Lock()
        self.published = 0

    @property
    def online(self) -> bool:
        return self._online

    def start(self) -> SimConnection:
        self._thread = threading.Thread(target=self._run, name=f"sim-{self.client_id}",
                                        daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def do(self, action: Callable[[SimConnection], list[Publication]]) -> None:
        """Run ``action`` on the connection's thread (tests: issue a ticket, go away...)."""
        with self._lock:
            self._actions.append(action)

    # --- owner thread ---------------------------------------------------------------------

    def _new_client(self) -> mqtt.Client:
        client = self.broker.client(self.client_id)
        client.on_connect = self._cb_connect
        client.on_disconnect = lambda *a: setattr(self, "_online", False)
        client.on_message = self._cb_message
        return client

    def _run(self) -> None:
        client = self._new_client()
        self._client = client
        backoff = 0.2
        next_tick = 0.0
        connected = False
        while not self._stop.is_set():
            if not connected:
                try:
                    client.connect(self.broker.host, self.broker.port, keepalive=30)
                    connected = True
                    backoff = 0.2
                except OSError as e:
                    log.debug("sim %s: %s", self.client_id, e)
                    self._stop.wait(backoff)
                    backoff = min(5.0, backoff * 2)
                    continue
            rc = client.loop(timeout=0.05)
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                connected = False
                self._online = False
                continue
            if time.monotonic() >= next_tick and self._online:
                next_tick = time.monotonic() + self.tick_s
                self._tick()
        self._goodbye(client)

    def _goodbye(self, client: mqtt.Client) -> None:
        if self._online:
            infos = [self._send(n.status(False)) for n in self.nodes.values() if n.present]
            deadline = time.monotonic() + 2
            while any(i is not None and not i.is_published() for i in infos) and \
                    time.monotonic() < deadline:
                client.loop(timeout=0.05)
        client.disconnect()

    def _send(self, pub: Publication) -> mqtt.MQTTMessageInfo | None:
        assert self._client is not None
        topic, payload, retain = pub
        info = self._client.publish(topic, encode(payload), qos=1, retain=retain)
        self.published += 1
        return info

    def _send_all(self, pubs: Iterable[Publication]) -> None:
        for pub in pubs:
            self._send(pub)

    def _cb_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                    props: Any) -> None:
        if reason.is_failure:
            log.warning("sim %s: refused: %s", self.client_id, reason)
            return
        self._online = True
        subs = [(NCC_STATUS, 1)]
        for n in self.nodes.values():
            subs += [(n.topics.cmd_filter, 1), (n.topics.ack, 1)]
        client.subscribe(subs)
        now = time.monotonic()
        for n in self.nodes.values():
            if n.present:
                self._send_all(n.connect())
                self._health_due[n.node] = now + self.health_interval_s
        self._last_ack = now

    def _cb_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == NCC_STATUS:
            self._on_ncc_status(bytes(msg.payload))
            return
        for n in self.nodes.values():
            if msg.topic == n.topics.ack:
                before = n.acked
                n.on_ack(bytes(msg.payload))
                if n.acked > before:
                    self._last_ack = time.monotonic()
                return
            name = n.topics.command_name(msg.topic)
            if name is not None:
                if not msg.retain and n.present and not n.stuck:
                    self._send_all(n.on_command(name, bytes(msg.payload)))
                return

    def _on_ncc_status(self, raw: bytes) -> None:
        status = decode_object(raw) or {}
        session = status.get("session")
        if status.get("online") is True and isinstance(session, int) and \
                session != self._ncc_session:
            self._ncc_session = session
            for n in self.nodes.values():
                if n.present:
                    self._send_all(n.resend())

    def _tick(self) -> None:
        now = time.monotonic()
        with self._lock:
            actions, self._actions = self._actions, []
        for action in actions:
            self._send_all(action(self))
        if self.behave is not None:
            self._send_all(self.behave(self, now))
        for n in self.nodes.values():
            if n.present and not n.stuck and now >= self._health_due.get(n.node, 0.0):
                self._health_due[n.node] = now + self.health_interval_s
                self._send(n.health())
        if now - self._last_ack > self.resend_after_s:
            self._last_ack = now
            for n in self.nodes.values():
                if n.present and n.outbox:
                    self._send_all(n.resend())

    # --- what a test or the demo does to a node (on this thread, via ``do``) -----------------

    def go_away(self, node: str) -> list[Publication]:
        """The node disappears: its Will (offline, its session) is what remains."""
        n = self.nodes[node]
        n.present = False
        return [n.status(False)]

    def come_back(self, node: str) -> list[Publication]:
        n = self.nodes[node]
        n.present, n.stuck = True, False
        self._health_due[node] = time.monotonic() + self.health_interval_s
        return n.connect()


@dataclass
class Behaviour:
    """A busy puskesmas morning, per connection tick: tickets issued at the kiosk, called
    and finished at the counters, now and then a printer out of paper (fixed a while
    later), and one node that goes away for a while and comes back."""

    rng: random.Random
    issue_p: float = 0.08
    call_p: float = 0.05
    skip_p: float = 0.1
    paper_out_p: float = 0.0005
    paper_back_s: float = 90.0
    away: tuple[str, float, float] | None = None  # (node, leave at, back at), monotonic s
    _repairs: dict[str, float] = field(default_factory=dict)
    _started: float = field(default_factory=time.monotonic)

    def __call__(self, conn: SimConnection, now: float) -> list[Publication]:
        out: list[Publication] = []
        for n in conn.nodes.values():
            if not n.present:
                if self.away and n.node == self.away[0] and now - self._started >= self.away[2]:
                    out += conn.come_back(n.node)
                continue
            if self.away and n.node == self.away[0] and \
                    self.away[1] <= now - self._started < self.away[2]:
                out += conn.go_away(n.node)
                continue
            out += self._work(n, now)
        return out

    def _work(self, n: SimNode, now: float) -> list[Publication]:
        out: list[Publication] = []
        if "kiosk" in n.roles and self.rng.random() < self.issue_p:
            service = self.rng.choice(n.site.services)
            out += n.issue(service, assisted=self.rng.random() < 0.2)
        for counter in n.counters:
            if self.rng.random() < self.call_p:
                skip = self.rng.random() < self.skip_p
                out += n.skip(counter) if skip else n.call_next(counter)
        if "kiosk" in n.roles:
            key = f"{n.site.id}/{n.node}"
            if key in self._repairs and now >= self._repairs[key]:
                del self._repairs[key]
                out += n.recover("printer")
            elif key not in self._repairs and self.rng.random() < self.paper_out_p:
                self._repairs[key] = now + self.paper_back_s
                out += n.fault("printer", "paper_out")
        return out


class SimFleet:
    """Simulated nodes for every site of a fleet inventory, one connection per site.

    ``login(site)`` gives the (username, password) of that site's connection (the demo
    uses the site bridge's login, and so its client id: the bridge is what carries a
    site's nodes to the central broker, and the simulation stands in for it).
    """

    def __init__(self, fleet: Any, broker: Broker, *,
                 login: Callable[[str], tuple[str, str] | None] = lambda site: None,
                 health_interval_s: float = 30.0, seed: int = 1,
                 away: tuple[str, str, float, float] | None = None,
                 behaviour: bool = True) -> None:
        self.sites: dict[str, SimSite] = {}
        self.connections: dict[str, SimConnection] = {}
        rng = random.Random(seed)
        for site in fleet.sites:
            sim_site = SimSite(site.id, tuple(s.code for s in site.services),
                               tuple(c.number for c in site.counters))
            self.sites[site.id] = sim_site
            nodes = [SimNode(sim_site, n.id, roles=n.roles, counters=n.counters)
                     for n in site.nodes]
            creds = login(site.id)
            site_broker = Broker(broker.host, broker.port,
                                 creds[0] if creds else broker.username,
                                 creds[1] if creds else broker.password, broker.tls_ca)
            behave = None
            if behaviour:
                gone = (away[1], away[2], away[3]) if away and away[0] == site.id else None
                behave = Behaviour(random.Random(rng.random()), away=gone)
            # a login owns its client ids; a bridge login owns exactly its username
            client_id = creds[0] if creds else f"brexit-sim-{site.id}"
            self.connections[site.id] = SimConnection(
                site_broker, nodes, client_id=client_id, behave=behave,
                health_interval_s=health_interval_s)

    def node(self, site: str, node: str) -> SimNode:
        return self.connections[site].nodes[node]

    def start(self) -> SimFleet:
        for conn in self.connections.values():
            conn.start()
        return self

    def close(self) -> None:
        for conn in self.connections.values():
            conn.close()

    def __enter__(self) -> SimFleet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
