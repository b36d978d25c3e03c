"""The whole simulated fleet: sites spread over a few connections, run for a duration,
a progress line while it runs, a summary at the end and (optionally) a record of every
node's epoch and last seq and of every fault, so a benchmark can check the NCC against it.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from ncc.sim import Broker
from ncc.simulate.check import ContractCheck
from ncc.simulate.connection import FleetConnection, Phase, Timing
from ncc.simulate.model import SiteModel


@dataclass(frozen=True)
class FleetSpec:
    sites: int
    nodes_per_site: int = 3
    duration_s: float = 60.0
    seed: int = 1
    connections: int = 0  # 0: one per 1,250 sites, at least 1 and at most 16
    start_hour: float = 8.5
    ramp_s: float | None = None  # None: min(30 s, a quarter of the duration)
    health_interval_s: float = 30.0
    fault_rate: float = 0.2
    fault_s: float = 150.0
    will_after_s: float = 45.0
    resend_after_s: float = 60.0
    drain_s: float = 30.0
    site_prefix: str = "pkm"
    full_check_every: int = 200

    def __post_init__(self) -> None:
        checks: tuple[tuple[str, bool], ...] = (
            ("--sites", 1 <= self.sites <= 1_000_000),
            ("--nodes-per-site", 1 <= self.nodes_per_site <= 32),
            ("--duration", self.duration_s > 0),
            ("--connections", 0 <= self.connections <= 1000),
            ("--health-interval", self.health_interval_s > 0),
            ("--fault-rate", self.fault_rate >= 0),
            ("--fault-s", self.fault_s > 0),
            ("--will-after", self.will_after_s >= 0),
            ("--drain", self.drain_s >= 0),
        )
        for name, ok in checks:
            if not ok:
                raise ValueError(f"{name}: out of range")

    @property
    def connection_count(self) -> int:
        if self.connections:
            return min(self.connections, self.sites)
        return max(1, min(16, -(-self.sites // 1250)))

    @property
    def ramp(self) -> float:
        return self.ramp_s if self.ramp_s is not None else min(30.0, self.duration_s / 4)

    def site_id(self, i: int) -> str:
        return f"{self.site_prefix}-{i:05d}"


@dataclass(frozen=True)
class Summary:
    sites: int
    nodes: int
    connections: int
    duration_s: float
    published: int
    events: int
    acked: int
    unacked: int
    resent: int
    resent_on_ncc_session: int
    resent_on_timeout: int
    held_while_unreachable: int
    faults: dict[str, int]
    contract_checked: int
    contract_fully_checked: int
    error: str | None

    def to_json(self) -> str:
        return json.dumps({"simulate": asdict(self)}, separators=(",", ":"))


class FleetRun:
    def __init__(self, spec: FleetSpec, broker: Broker, *,
                 out: TextIO = sys.stdout, progress_s: float = 10.0) -> None:
        self.spec, self.broker, self.out, self.progress_s = spec, broker, out, progress_s
        self.check = ContractCheck(full_every=spec.full_check_every)
        rng = random.Random(spec.seed)
        self.sites = [SiteModel.build(spec.site_id(i + 1), nodes_per_site=spec.nodes_per_site,
                                      size=rng.uniform(0.5, 1.5), check=self.check,
                                      epoch_seed=rng.getrandbits(64))
                      for i in range(spec.sites)]
        self.connections: list[FleetConnection] = []
        self.t0 = 0.0
        self._seeds = [rng.getrandbits(64) for _ in range(spec.connection_count)]

    def run(self, *, stop: Callable[[], bool] = lambda: False) -> Summary:
        spec = self.spec
        self.t0 = time.time()
        timing = Timing(t0=self.t0, start_hour=spec.start_hour, ramp_s=spec.ramp,
                        health_interval_s=spec.health_interval_s,
                        resend_after_s=spec.resend_after_s, fault_rate=spec.fault_rate,
                        fault_s=spec.fault_s, will_after_s=spec.will_after_s)
        count = spec.connection_count
        for c in range(count):
            self.connections.append(FleetConnection(
                self.broker, self.sites[c::count], client_id=f"brexit-fleet-{spec.seed}-{c}",
                timing=timing, seed=self._seeds[c]).start())
        end = self.t0 + spec.duration_s
        next_progress = self.t0 + self.progress_s
        while time.time() < end and not stop() and not self._failed():
            time.sleep(0.2)
            if time.time() >= next_progress:
                next_progress += self.progress_s
                self._progress()
        for conn in self.connections:
            conn.phase = Phase.DRAIN
        drain_end = time.time() + spec.drain_s
        while time.time() < drain_end and not self._failed() and \
                any(conn.unacked() or conn.faults_open() for conn in self.connections):
            time.sleep(0.2)
        for conn in self.connections:
            conn.phase = Phase.STOP
        for conn in self.connections:
            conn.join(10)
        self._progress()
        return self.summary()

    def _failed(self) -> bool:
        return any(c.error for c in self.connections)

    def _progress(self) -> None:
        s = self.summary()
        running = sum(1 for c in self.connections for n in c.nodes() if n.running)
        online = sum(1 for c in self.connections if c.online)
        print(f"t={time.time() - self.t0:5.0f}s nodes {running}/{s.nodes} up, connections "
              f"{online}/{s.connections}, sent {s.published}, events {s.events}, acked "
              f"{s.acked}, re-sent {s.resent}, faults {sum(s.faults.values())}",
              file=self.out, flush=True)

    def summary(self) -> Summary:
        nodes = [n for c in self.connections for n in c.nodes()] or \
            [n for s in self.sites for n in s.nodes]
        faults: Counter[str] = Counter()
        for c in self.connections:
            faults.update(c.fault_counts)
        errors = [c.error for c in self.connections if c.error]
        return Summary(
            sites=len(self.sites), nodes=len(nodes), connections=len(self.connections),
            duration_s=round(time.time() - self.t0, 1) if self.t0 else 0.0,
            published=sum(c.published for c in self.connections),
            events=sum(n.seq for n in nodes), acked=sum(n.acked for n in nodes),
            unacked=sum(len(n.outbox) for n in nodes),
            resent=sum(n.resent for n in nodes),
            resent_on_ncc_session=sum(c.ncc_resends for c in self.connections),
            resent_on_timeout=sum(c.timeout_resends for c in self.connections),
            held_while_unreachable=sum(c.held for c in self.connections),
            faults=dict(sorted(faults.items())), contract_checked=self.check.checked,
            contract_fully_checked=self.check.fully_checked,
            error=errors[0] if errors else None)

    def record(self) -> dict[str, Any]:
        """What the simulator did: every node's epoch, last seq and acked seq; every fault."""
        return {
            "t0": self.t0, "spec": asdict(self.spec),
            "nodes": [[n.site.id, n.node, n.epoch, n.seq, n.acked]
                      for s in self.sites for n in s.nodes],
            "faults": [f.to_dict() for c in self.connections for f in c.faults],
            "summary": asdict(self.summary()),
        }

    def write_record(self, path: Path) -> None:
        path.write_text(json.dumps(self.record()), encoding="utf-8")
