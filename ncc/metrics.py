"""Prometheus metrics of the NCC (prometheus_client), labelled by site and state only:
per-node series would be too many for a national fleet.

>>> m = Metrics()
>>> m.events_ingested(3)
>>> b"brexit_events_ingested_total 3.0" in m.render()
True
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from ncc.state import NodeState


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._nodes = Gauge("brexit_nodes", "Nodes by state", ["state"], registry=self.registry)
        self._site_nodes = Gauge("brexit_site_nodes", "Nodes of a site by state",
                                 ["site", "state"], registry=self.registry)
        self._alarms = Gauge("brexit_alarms_open", "Open alarms (acked included) by kind",
                             ["kind"], registry=self.registry)
        self._events = Counter("brexit_events_ingested", "Node events stored (duplicates not"
                               " counted)", registry=self.registry)
        self._rejected = Counter("brexit_messages_rejected", "Messages the schemas rejected",
                                 registry=self.registry)
        self._store_failures = Counter("brexit_ncc_store_failures", "Ingest batches whose"
                                       " commit failed (kept and retried)",
                                       registry=self.registry)
        self._lag = Gauge("brexit_ingest_lag_seconds", "From receiving a message to its"
                          " batch being committed (last batch)", registry=self.registry)
        self._waiting = Gauge("brexit_site_waiting", "Patients waiting now, per puskesmas",
                              ["site"], registry=self.registry)
        self._connected = Gauge("brexit_ncc_broker_connected", "1 while the ingest is"
                                " connected to the central broker", registry=self.registry)

    def events_ingested(self, n: int) -> None:
        if n:
            self._events.inc(n)

    def rejected(self, n: int) -> None:
        if n:
            self._rejected.inc(n)

    def store_failures(self, n: int) -> None:
        if n:
            self._store_failures.inc(n)

    def ingest_lag(self, seconds: float) -> None:
        self._lag.set(seconds)

    def connected(self, up: bool) -> None:
        self._connected.set(1 if up else 0)

    def snapshot(
        self, *, nodes: Mapping[str, Mapping[NodeState, int]], alarms: Mapping[str, int],
        waiting: Mapping[str, int], kinds: tuple[str, ...],
    ) -> None:
        """Set every gauge from one evaluation (``nodes``: site -> state -> count)."""
        for state in NodeState:
            self._nodes.labels(state=state.value).set(
                sum(by_state.get(state, 0) for by_state in nodes.values()))
            for site, by_state in nodes.items():
                self._site_nodes.labels(site=site, state=state.value).set(by_state.get(state, 0))
        for kind in sorted(set(kinds) | set(alarms)):
            self._alarms.labels(kind=kind).set(alarms.get(kind, 0))
        for site, n in waiting.items():
            self._waiting.labels(site=site).set(n)

    def render(self) -> bytes:
        return generate_latest(self.registry)
