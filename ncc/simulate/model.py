"""One simulated puskesmas: its nodes (a kiosk and callers), the patients' day, and the
faults that happen to it. Pure of I/O: every step returns the publications it makes;
the connection that carries the site decides whether they go out (``link_up``).

>>> import random
>>> check = ContractCheck(full_every=1)
>>> site = SiteModel.build("pkm-00001", nodes_per_site=3, size=1.0, check=check, epoch_seed=1)
>>> [n.node for n in site.nodes], site.kiosk.counters, site.nodes[2].counters
(['kios-1', 'loket-1', 'loket-2'], (), (2,))
>>> pubs = site.start(site.kiosk, now=0.0)
>>> [t.rsplit("/", 1)[1] for t, _, _ in pubs]
['status', 'health']
>>> pubs = site.kiosk_issue(random.Random(1))
>>> [(t.rsplit("/", 1)[1], p.get("type")) for t, p, _ in pubs]
[('event', 'ticket.issued')]
>>> site.queue_dirty   # the queue snapshot goes out once per step
True
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ncc.sim import Publication, SimNode, SimSite
from ncc.simulate.check import ContractCheck
from ncc.simulate.profile import arrivals_per_hour

SERVICES = ("A", "B", "C", "D")
SERVICE_S = 80.0  # mean time a counter spends on one patient
CALL_GAP_S = 12.0  # mean time before an idle counter calls the next waiting patient
SKIP_P = 0.04  # a called patient who does not come is skipped


class FaultKind(Enum):
    PAPER_OUT = "paper_out"  # the kiosk's printer
    EMBOSSER_OFFLINE = "embosser_offline"  # the kiosk's Braille embosser
    BUTTON_STUCK = "button_stuck"  # a caller's "next" button
    NODE_GONE = "node_gone"  # power cut: no clean offline; the site broker's Will later
    NODE_HUNG = "node_hung"  # the process hangs: connected, but silent
    SITE_UNREACHABLE = "site_unreachable"  # the site's uplink is down: nothing arrives


# how often each kind is picked when a fault is injected
FAULT_WEIGHTS: dict[FaultKind, float] = {
    FaultKind.PAPER_OUT: 0.3, FaultKind.EMBOSSER_OFFLINE: 0.15, FaultKind.BUTTON_STUCK: 0.15,
    FaultKind.NODE_GONE: 0.15, FaultKind.NODE_HUNG: 0.1, FaultKind.SITE_UNREACHABLE: 0.15,
}


@dataclass
class Fault:
    """One injected fault, as the simulator's record keeps it (wall-clock seconds)."""

    kind: FaultKind
    site: str
    node: str | None
    at: float
    until: float
    last_health: float | None = None  # NODE_HUNG: the last health the NCC got
    will_at: float | None = None  # NODE_GONE: when the site broker publishes the Will
    will_sent: bool = False
    repaired: bool = False
    repaired_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "site": self.site, "node": self.node, "at": self.at,
                "until": self.until, "last_health": self.last_health,
                "will_at": self.will_at, "repaired_at": self.repaired_at}


class FleetNode(SimNode):
    """A ``SimNode`` whose payloads pass the compiled contract check before publishing."""

    def __init__(self, site: SimSite, node: str, *, roles: tuple[str, ...],
                 counters: tuple[int, ...], epoch: str, check: ContractCheck) -> None:
        super().__init__(site, node, roles=roles, epoch=epoch, counters=counters)
        self.check = check
        self.started_at: float | None = None  # wall time of the first birth
        self.last_health = 0.0
        self.hung = False
        self.resent = 0
        self.resend_wait = 0.0  # 0: the connection's resend_after_s
        self.unacked_since: float | None = None  # wall time the oldest unacked was (re)sent

    def _checked(self, schema: str, payload: dict[str, Any]) -> dict[str, Any]:  # type: ignore[override]
        self.check(schema, payload)
        return payload

    @property
    def running(self) -> bool:
        """Started, here, and not hung: it works and publishes."""
        return self.started_at is not None and self.present and not self.hung


@dataclass
class SiteModel:
    sim: SimSite
    nodes: list[FleetNode]
    size: float
    link_up: bool = True
    queue_dirty: bool = False
    faults: list[Fault] = field(default_factory=list)

    @classmethod
    def build(cls, site_id: str, *, nodes_per_site: int, size: float, check: ContractCheck,
              epoch_seed: int) -> SiteModel:
        callers = max(1, nodes_per_site - 1)
        counters = tuple(range(1, callers + 1))
        sim = SimSite(site_id, SERVICES, counters)
        rnd = random.Random(epoch_seed)
        epoch = lambda: uuid.UUID(int=rnd.getrandbits(128)).hex[:16]  # noqa: E731
        nodes = [FleetNode(sim, "kios-1", roles=("kiosk", "broker"),
                           counters=counters if nodes_per_site == 1 else (),
                           epoch=epoch(), check=check)]
        nodes += [FleetNode(sim, f"loket-{c}", roles=("caller",), counters=(c,),
                            epoch=epoch(), check=check) for c in counters[:nodes_per_site - 1]]
        return cls(sim, nodes, size)

    @property
    def id(self) -> str:
        return self.sim.id

    @property
    def kiosk(self) -> FleetNode:
        return self.nodes[0]

    # --- the node's life ------------------------------------------------------------------

    def start(self, n: FleetNode, now: float) -> list[Publication]:
        """The node boots: birth (a new session), health, whatever its outbox holds."""
        n.started_at = n.started_at or now
        n.present, n.hung = True, False
        n.last_health = now
        return n.connect()

    def health(self, n: FleetNode, now: float) -> list[Publication]:
        if not n.running:
            return []
        n.last_health = now
        return [n.health()]

    # --- the patients' day ------------------------------------------------------------------

    def step(self, rng: random.Random, hour: float, dt: float) -> list[Publication]:
        out: list[Publication] = []
        if self.kiosk.running and rng.random() < arrivals_per_hour(hour) * self.size * dt / 3600:
            out += self.kiosk_issue(rng)
        for n in self.nodes:
            if n.running:
                for counter in n.counters:
                    out += self._counter(n, counter, rng, dt)
        if self.queue_dirty and any(n.running for n in self.nodes):
            self.queue_dirty = False
            out.append(next(n for n in self.nodes if n.running).queue())
        return out

    def kiosk_issue(self, rng: random.Random) -> list[Publication]:
        service = rng.choice(SERVICES[:2] if rng.random() < 0.7 else SERVICES)
        return self._events(self.kiosk.issue(service, assisted=rng.random() < 0.05))

    def _counter(self, n: FleetNode, counter: int, rng: random.Random,
                 dt: float) -> list[Publication]:
        serving = self.sim.serving.get(counter)
        if serving is not None:
            if rng.random() >= dt / SERVICE_S:
                return []
            return self._events(n.skip(counter) if rng.random() < SKIP_P
                                else n.call_next(counter))
        if any(self.sim.waiting.get(s) for s in SERVICES) and rng.random() < dt / CALL_GAP_S:
            return self._events(n.call_next(counter))
        return []

    def _events(self, pubs: list[Publication]) -> list[Publication]:
        """Events as they are; the site's queue snapshot once per step, not per event."""
        events = [p for p in pubs if not p[0].endswith("/queue")]
        if len(events) != len(pubs):
            self.queue_dirty = True
        return events

    # --- faults --------------------------------------------------------------------------

    def inject(self, kind: FaultKind, rng: random.Random, now: float, lasts_s: float,
               will_after_s: float) -> tuple[Fault | None, list[Publication]]:
        """Start a fault of ``kind`` here (None when the site cannot have it now)."""
        if any(not f.repaired and f.kind is FaultKind.SITE_UNREACHABLE for f in self.faults):
            return None, []
        busy = {f.node for f in self.faults if not f.repaired}
        idle = [n for n in self.nodes if n.running and n.node not in busy]
        if kind is FaultKind.SITE_UNREACHABLE:
            if busy or not self.link_up:
                return None, []
            self.link_up = False
            return self._add(Fault(kind, self.id, None, now, now + lasts_s)), []
        if kind in (FaultKind.PAPER_OUT, FaultKind.EMBOSSER_OFFLINE):
            idle = [n for n in idle if "kiosk" in n.roles]
        elif kind is FaultKind.BUTTON_STUCK:
            idle = [n for n in idle if n.counters]
        if not idle:
            return None, []
        n = rng.choice(idle)
        fault = Fault(kind, self.id, n.node, now, now + lasts_s)
        pubs: list[Publication] = []
        if kind is FaultKind.PAPER_OUT:
            pubs = n.fault("printer", "paper_out")
        elif kind is FaultKind.EMBOSSER_OFFLINE:
            pubs = n.fault("embosser", "offline")
        elif kind is FaultKind.BUTTON_STUCK:
            n.buttons_stuck = ["next"]
            pubs = [*n.event("device.fault", {"device": "buttons", "state": "stuck",
                                              "name": "next"}), n.health()]
        elif kind is FaultKind.NODE_GONE:
            n.present = False
            fault.will_at = now + will_after_s
        elif kind is FaultKind.NODE_HUNG:
            n.hung = True
            fault.last_health = n.last_health
        return self._add(fault), pubs

    def _add(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def due(self, now: float) -> list[Publication]:
        """Wills that fall due and faults that end now."""
        out: list[Publication] = []
        for f in self.faults:
            if f.repaired:
                continue
            if f.will_at is not None and not f.will_sent and now >= f.will_at:
                f.will_sent = True
                out.append(self._node(f.node).status(False))
            if now >= f.until:
                out += self.repair(f, now)
        return out

    def repair(self, f: Fault, now: float) -> list[Publication]:
        f.repaired, f.repaired_at = True, now
        if f.kind is FaultKind.SITE_UNREACHABLE:
            self.link_up = True
            out: list[Publication] = []
            for n in self.nodes:
                if n.running:
                    n.last_health = now
                    out += [n.status(True), n.health(), *self._resend(n)]
            self.queue_dirty = True
            return out
        n = self._node(f.node)
        if f.kind is FaultKind.PAPER_OUT:
            return n.recover("printer")
        if f.kind is FaultKind.EMBOSSER_OFFLINE:
            return n.recover("embosser")
        if f.kind is FaultKind.BUTTON_STUCK:
            n.buttons_stuck = []
            return [*n.event("device.recovered", {"device": "buttons", "state": "ok"}),
                    n.health()]
        if f.kind is FaultKind.NODE_GONE:
            return self.start(n, now)  # a new session: birth, health, outbox again
        n.hung = False  # NODE_HUNG: it wakes up in the same session
        n.last_health = now
        return [n.health(), *self._resend(n)]

    @staticmethod
    def _resend(n: FleetNode) -> list[Publication]:
        pubs = n.resend()
        n.resent += len(pubs)
        return pubs

    def _node(self, node: str | None) -> FleetNode:
        return next(n for n in self.nodes if n.node == node)
