"""The NCC monitor: the one facade the web (and the CLI) use.

It owns the store, the ingest, the alarm evaluator (its own thread, every
``TICK_S`` and after every ingest batch), the webhook notifier and the metrics. Every
method is thread-safe and returns plain JSON-able values with English keys (the interface
is in docs/ncc.md; the pages translate to Bahasa Indonesia).
"""

from __future__ import annotations

import heapq
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contract.fleet import Fleet, FleetError, load_fleet
from contract.payloads import JAKARTA
from contract.topics import is_valid_id
from edge import __version__
from ncc.alarms import (
    KIND_LABELS,
    NODE_STATE_KINDS,
    Condition,
    HoldDown,
    Key,
    NodeFacts,
    certificate_days_left,
    conditions,
    site_unreachable,
)
from ncc.commands import Commands
from ncc.config import NccConfig
from ncc.ingest import Ingest, IngestStats
from ncc.messages import ReplyMsg, parse_ts
from ncc.metrics import Metrics
from ncc.notify import Notifier
from ncc.state import NodeState, node_state, silent_at
from ncc.store import AlarmRow, BatchResult, NodeRow, SqliteStore, Store

log = logging.getLogger(__name__)

TICK_S = 0.5
METRICS_EVERY_S = 5.0  # per-site gauges: 10,000 sites are not relabelled every pass
WAITING_EVERY_S = 30.0  # per-site waiting gauges: every site's queue snapshot parsed
CONDITIONS_FRESH_S = 60.0  # certificate days left: recomputed at least this often
PRUNE_EVERY_S = 600.0
MIN_SEEN_S = 5.0  # an alarm opens no sooner after its condition is first seen (a site going)
FULL_PASS_EVERY_S = 60.0  # every node visited; in between only changed and due ones
SORTS = {"site", "node", "state", "last_seen"}
STATE_ORDER = {"offline": 0, "silent": 1, "online": 2}


def iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, JAKARTA).isoformat(
        timespec="seconds")


def today(now: float) -> str:
    return datetime.fromtimestamp(now, JAKARTA).date().isoformat()


@dataclass(frozen=True)
class _Snapshot:
    """The last evaluation: every node's state and the unreachable sites."""

    states: dict[tuple[str, str], NodeState]
    unreachable: frozenset[str]


class Monitor:
    def __init__(self, config: NccConfig, *, fleet: Fleet | None = None,
                 store: Store | None = None) -> None:
        self.config = config
        self.fleet = fleet if fleet is not None else _load_fleet(config)
        # the inventory indexed once: views look nodes and sites up, never scan the fleet
        self._inventory: dict[tuple[str, str], tuple[str, ...]] = {
            (s.id, n.id): tuple(n.roles) for s in self.fleet.sites for n in s.nodes}
        self._site_index = {s.id: s for s in self.fleet.sites}
        self.store: Store = store or SqliteStore(config.store.path)
        self.metrics_registry = Metrics()
        self.notifier = Notifier(config.notify)
        self._commands = Commands(publish=self._publish_cmd, audit=self._audit)
        m = config.mqtt
        self.ingest = Ingest(
            self.store, host=m.host, port=m.port, username=m.username, password=m.password,
            tls_ca=m.tls_ca, client_id=m.client_id, version=__version__,
            on_batch=self._on_batch, on_reply=self._on_reply,
        )
        self._hold = HoldDown(config.alarms.hold_down_s, min_seen_s=MIN_SEEN_S)
        self._lock = threading.RLock()
        self._snapshot = _Snapshot({}, frozenset())
        self._subscribers: list[queue.Queue[dict[str, Any]]] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_prune = 0.0
        self._pending_changes: list[dict[str, Any]] = []
        self._cache: dict[tuple[str, str], NodeRow] | None = None  # node rows, parsed
        self._dirty: set[tuple[str, str]] = set()
        self._seen = IngestStats(0, 0, 0)
        # what the ingest thread hands over; its own lock, so a batch never waits for an
        # evaluation or a page (they hold self._lock for as long as they take)
        self._inbox_lock = threading.Lock()
        self._rows_lock = threading.Lock()
        # a node's conditions, kept while its row and state are the same ones (rows are
        # re-read only when the ingest changed them); time-dependent ones age out
        self._metrics_at = 0.0
        self._waiting_at = -1e18
        self._waiting: dict[str, int] = {}
        self._conditions: dict[tuple[str, str], tuple[NodeRow, NodeState, str | None, float,
                                                      dict[str, Condition]]] = {}
        # the evaluator's own view (its thread, under self._lock): it visits only the nodes
        # the ingest changed and those whose silent deadline passed; a full pass rarely
        self._changed: set[tuple[str, str]] = set()  # from the ingest, for the evaluator
        self._states: dict[tuple[str, str], NodeState] = {}
        self._found: dict[tuple[str, str], dict[Key, Condition]] = {}
        self._holding_now: dict[Key, Condition] = {}
        self._began: dict[Key, float] = {}
        self._site_nodes: dict[str, set[str]] = {}
        self._unreachable: set[str] = set()
        self._due: list[tuple[float, tuple[str, str]]] = []  # (silent deadline, node) heap
        self._deadline: dict[tuple[str, str], float] = {}
        self._full_at = -1e18

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> Monitor:
        """Start the threads (once; a second call does nothing)."""
        if self._thread is not None:
            return self
        self.notifier.start()
        self._metrics_at = time.time()  # the first gauges a moment later: start fast
        self._thread = threading.Thread(target=self._run, name="ncc-alarms", daemon=True)
        self._thread.start()
        self.ingest.start()
        return self

    def close(self) -> None:
        self.ingest.close()
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.notifier.close()
        self.store.close()

    def __enter__(self) -> Monitor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- ingest callbacks (ingest thread) ---------------------------------------------------

    def _on_batch(self, result: BatchResult) -> None:
        self.metrics_registry.events_ingested(result.stored)
        self.metrics_registry.ingest_lag(self.ingest.last_batch_latency_s)
        changes: list[dict[str, Any]] = [
            {"kind": "node", "site": s, "node": n} for s, n in sorted(result.nodes)]
        changes += [{"kind": "site", "site": s, "node": None} for s in sorted(result.sites)]
        with self._inbox_lock:
            self._pending_changes.extend(changes)
            self._dirty.update(result.nodes)
            self._changed.update(result.nodes)
        self._wake.set()

    def _on_reply(self, msg: ReplyMsg) -> None:
        self._commands.on_reply(msg)

    def _publish_cmd(self, topic: str, payload: bytes) -> None:
        self.ingest.publish(topic, payload)

    def _audit(self, user: str, action: str, target: str, result: str) -> None:
        self.store.add_audit(time.time(), user, action, target, result)

    # --- the evaluator thread -------------------------------------------------------------

    def _run(self) -> None:
        rest = 0.0
        first = True
        while not self._stop.is_set():
            if not first:
                self._wake.wait(self._next_wait())
                self._stop.wait(rest)  # a busy pass leaves the ingest as much room again
            first = False
            self._wake.clear()
            if self._stop.is_set():
                return
            started = time.monotonic()
            try:
                self.evaluate()
                self._maybe_prune()
            except Exception:
                log.exception("ncc: evaluation failed")
            rest = min(time.monotonic() - started, 2.0)

    def _next_wait(self) -> float:
        """Until the next silent deadline, at most ``TICK_S`` (hold-downs end on a tick)."""
        with self._lock:
            due = self._due[0][0] if self._due else None
        if due is None:
            return TICK_S
        return min(TICK_S, max(0.0, due - time.time()))

    def _maybe_prune(self) -> None:
        now = time.time()
        if now - self._last_prune < PRUNE_EVERY_S:
            return
        self._last_prune = now
        s = self.config.store
        deleted = self.store.prune(now, health_days=s.health_days, events_days=s.events_days,
                                   full_health_hours=s.full_health_hours)
        if deleted:
            log.info("ncc: retention removed %d rows", deleted)

    def evaluate(self, now: float | None = None) -> None:
        """Node states, alarm conditions, hold-down, notifications, metrics: one pass over
        the nodes the ingest changed and those due (every node now and then)."""
        now = time.time() if now is None else now
        with self._lock:
            rows = self._rows()
            with self._inbox_lock:
                changed, self._changed = self._changed, set()
            full = now - self._full_at >= FULL_PASS_EVERY_S or now < self._full_at
            if full:
                self._full_at = now
                visit: set[tuple[str, str]] = set(rows) | set(self._states)
            else:
                visit = changed | self._due_nodes(now)
            before = {k: self._states.get(k) for k in visit}
            sites = self._visit(visit, rows, now)
            went = self._site_states(sites if not full else set(self._site_nodes))
            open_rows = {(a.site, a.node, a.kind): a for a in self.store.alarms(open_only=True)}
            frozen = frozenset(k for k in set(self._holding_now) | set(open_rows)
                               if k[1] is not None and k[0] in self._unreachable)
            decision = self._hold.step(
                self._holding_now, open_keys={k: a.detail for k, a in open_rows.items()},
                now=now, frozen=frozen, began=self._began, whole=not self._snapshot.states)
            changes = self._apply(decision.to_open, decision.to_clear, decision.to_update,
                                  open_rows, now)
            moved = [k for k in visit if self._states.get(k) != before[k]]
            changes += [{"kind": "node", "site": s, "node": n} for s, n in moved]
            changes += [{"kind": "site", "site": s, "node": None} for s in went]
            if moved or went or not self._snapshot.states:
                self._snapshot = _Snapshot(dict(self._states), frozenset(self._unreachable))
            with self._inbox_lock:
                pending, self._pending_changes = self._pending_changes, []
            changes = pending + changes
            if now - self._metrics_at >= METRICS_EVERY_S or now < self._metrics_at:
                self._metrics_at = now
                self._update_metrics(self._states)
        self._broadcast(changes)

    def _due_nodes(self, now: float) -> set[tuple[str, str]]:
        """Nodes whose silent deadline passed (stale heap entries are skipped)."""
        out: set[tuple[str, str]] = set()
        while self._due and self._due[0][0] <= now:
            at, key = heapq.heappop(self._due)
            if self._deadline.get(key) == at:
                del self._deadline[key]
                out.add(key)
        return out

    def _visit(self, keys: Iterable[tuple[str, str]], rows: dict[tuple[str, str], NodeRow],
               now: float) -> set[str]:
        """Re-evaluate these nodes: state, conditions and when each began; their sites."""
        sites: set[str] = set()
        target = self.fleet_target_version()
        silent_after = self.config.alarms.silent_after_s
        for key in keys:
            sites.add(key[0])
            for k in self._found.pop(key, {}):
                self._holding_now.pop(k, None)
                self._began.pop(k, None)
            r = rows.get(key)
            if r is None:
                self._states.pop(key, None)
                self._site_nodes.get(key[0], set()).discard(key[1])
                continue
            self._site_nodes.setdefault(key[0], set()).add(key[1])
            state = self._states[key] = self._state(r, now)
            due = silent_at(online=r.online, status_at=r.status_at, health_at=r.health_at,
                            silent_after_s=silent_after)
            if due is not None and due >= now and self._deadline.get(key) != due:
                self._deadline[key] = due
                heapq.heappush(self._due, (due, key))
            found = self._node_conditions(key, r, state, target, now)
            mine: dict[Key, Condition] = {}
            for kind, cond in found.items():
                k3 = (key[0], key[1], kind)
                mine[k3] = self._holding_now[k3] = cond
                began = _began(kind, r, due)
                if began is not None:
                    self._began[k3] = began
            self._found[key] = mine
        return sites

    def _node_conditions(self, key: tuple[str, str], r: NodeRow, state: NodeState,
                         target: str | None, now: float) -> dict[str, Condition]:
        hit = self._conditions.get(key)
        if hit is not None and hit[0] is r and hit[1] is state and hit[2] == target and \
                now - hit[3] < CONDITIONS_FRESH_S:
            return hit[4]
        facts = NodeFacts(state, r.health, r.devices, r.version, r.clock_skew_s)
        found = conditions(facts, now=now, settings=self.config.alarms, target_version=target)
        self._conditions[key] = (r, state, target, now, found)
        return found

    def _site_states(self, sites: Iterable[str]) -> set[str]:
        """Recompute which of these sites are unreachable; the sites that changed."""
        went: set[str] = set()
        min_nodes = self.config.alarms.site_min_nodes
        for site in sites:
            nodes = self._site_nodes.get(site, set())
            states = [self._states[(site, n)] for n in nodes]
            key: Key = (site, None, "site_unreachable")
            now_unreachable = site_unreachable(states, min_nodes)
            if now_unreachable:
                self._holding_now[key] = Condition("every node of the site is gone",
                                                   "critical")
                starts = [self._began.get((site, n, k)) for n in nodes
                          for k in ("offline", "silent")]
                known = [t for t in starts if t is not None]
                if known:
                    self._began[key] = max(known)
            else:
                self._holding_now.pop(key, None)
                self._began.pop(key, None)
            if now_unreachable != (site in self._unreachable):
                went.add(site)
                (self._unreachable.add if now_unreachable else self._unreachable.discard)(site)
        return went

    def _state(self, r: NodeRow, now: float) -> NodeState:
        return node_state(online=r.online, status_at=r.status_at, health_at=r.health_at,
                          now=now, silent_after_s=self.config.alarms.silent_after_s)

    def _apply(self, to_open: dict[Key, Condition], to_clear: Iterable[Key],
               to_update: dict[Key, Condition], open_rows: dict[Key, AlarmRow],
               now: float) -> list[dict[str, Any]]:
        changes: list[dict[str, Any]] = []
        silences = self.store.silences(now)
        for (site, node, kind), cond in to_open.items():
            row = self.store.open_alarm(site, node, kind, cond.detail, cond.severity, now)
            view = self._alarm_view(row, silences)
            self.notifier.alarm_opened(view, now)
            changes.append({"kind": "alarm", "site": site, "node": node, "id": row.id})
        for key in to_clear:
            row = self.store.clear_alarm(open_rows[key].id, now)
            self.notifier.alarm_cleared(self._alarm_view(row, silences))
            changes.append({"kind": "alarm", "site": key[0], "node": key[1], "id": row.id})
        for key, cond in to_update.items():
            self.store.update_alarm_detail(open_rows[key].id, cond.detail)
            changes.append({"kind": "alarm", "site": key[0], "node": key[1],
                            "id": open_rows[key].id})
        return changes

    def _update_metrics(self, states: dict[tuple[str, str], NodeState]) -> None:
        per_site: dict[str, Counter[NodeState]] = {s.id: Counter() for s in self.fleet.sites}
        for (site, _node), state in self._all_states(states).items():
            per_site.setdefault(site, Counter())[state] += 1
        alarms = Counter(a.kind for a in self.store.alarms(open_only=True))
        now = time.time()
        if now - self._waiting_at >= WAITING_EVERY_S or now < self._waiting_at:
            self._waiting_at = now
            self._waiting = {site: _waiting(q) for site, q in self.store.queues().items()}
        self.metrics_registry.snapshot(nodes=per_site, alarms=alarms, waiting=self._waiting,
                                       kinds=tuple(KIND_LABELS))
        self.metrics_registry.connected(self.ingest.connected)
        stats = self.ingest.stats()
        self.metrics_registry.rejected(stats.rejected - self._seen.rejected)
        self.metrics_registry.store_failures(stats.store_failures - self._seen.store_failures)
        self._seen = stats

    def _all_states(self, states: dict[tuple[str, str], NodeState]
                    ) -> dict[tuple[str, str], NodeState]:
        """Seen nodes' states plus the inventory's nodes never seen (offline)."""
        out = dict(states)
        for site in self.fleet.sites:
            for n in site.nodes:
                out.setdefault((site.id, n.id), NodeState.OFFLINE)
        return out

    # --- change feed ------------------------------------------------------------------------

    def subscribe(self) -> queue.Queue[dict[str, Any]]:
        q: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=10_000)
        with self._lock:
            self._subscribers.append(q)
        return q

    def unsubscribe(self, q: queue.Queue[dict[str, Any]]) -> None:
        with self._lock, suppress(ValueError):
            self._subscribers.remove(q)

    def _broadcast(self, changes: list[dict[str, Any]]) -> None:
        if not changes:
            return
        seen: set[tuple[Any, ...]] = set()
        unique = []
        for c in changes:
            key = (c["kind"], c["site"], c.get("node"), c.get("id"))
            if key not in seen:
                seen.add(key)
                unique.append(c)
        with self._lock:
            subscribers = list(self._subscribers)
        for q in subscribers:
            for change in unique:
                with suppress(queue.Full):
                    q.put_nowait(change)

    # --- views: nodes -------------------------------------------------------------------------

    def _rows(self) -> dict[tuple[str, str], NodeRow]:
        """Every node's row: parsed once, then only the rows the ingest changed (its own
        lock: a page does not wait for the evaluator, which holds ``_lock`` while it runs)."""
        with self._rows_lock:
            with self._inbox_lock:
                dirty, self._dirty = self._dirty, set()
            if self._cache is None:
                self._cache = {(r.site, r.node): r for r in self.store.nodes()}
            elif dirty:
                self._cache.update({(r.site, r.node): r for r in self.store.nodes(dirty)})
            return dict(self._cache)

    def _keys(self, rows: dict[tuple[str, str], NodeRow],
              site: str | None = None) -> set[tuple[str, str]]:
        """Seen nodes and the inventory's nodes (of ``site`` when given)."""
        keys = set(rows) | set(self._inventory)
        return keys if site is None else {k for k in keys if k[0] == site}

    def _node_views(self, now: float, site: str | None = None) -> list[dict[str, Any]]:
        rows = self._rows()
        open_counts = Counter((a.site, a.node)
                              for a in self.store.alarms(open_only=True, site=site))
        return [self._node_view(key, rows.get(key), now, open_counts[key])
                for key in self._keys(rows, site)]

    def _states_now(self, now: float, site: str | None = None
                    ) -> dict[tuple[str, str], tuple[NodeState, NodeRow | None]]:
        """Every node's state (and row; of ``site`` when given), without its whole view."""
        rows = self._rows()
        return {k: (self._state(r, now) if (r := rows.get(k)) is not None else NodeState.OFFLINE,
                    r) for k in self._keys(rows, site)}

    def _inventory_roles(self, site: str, node: str) -> list[str]:
        return list(self._inventory.get((site, node), ()))

    def _node_view(self, key: tuple[str, str], r: NodeRow | None, now: float,
                   open_alarms: int) -> dict[str, Any]:
        site, node = key
        if r is None:
            return {"site": site, "node": node, "state": NodeState.OFFLINE.value,
                    "session": None, "epoch": None, "last_seen": None, "version": None,
                    "roles": self._inventory_roles(site, node), "devices": {},
                    "backlog": None, "mqtt": None, "certificate_days_left": None,
                    "uptime_s": None, "open_alarms": open_alarms}
        h = r.health or {}
        outbox = h.get("outbox") or {}
        return {
            "site": site, "node": node, "state": self._state(r, now).value,
            "session": r.session or None, "epoch": r.epoch, "last_seen": iso(r.last_seen),
            "version": r.version, "roles": list(r.roles) or self._inventory_roles(site, node),
            "devices": {name: {"state": d.get("state"), "since": iso(d.get("since")),
                               "detail": d.get("detail")} for name, d in sorted(r.devices.items())},
            "backlog": outbox.get("backlog"),
            "mqtt": {"online": bool(r.online), "session": r.session,
                     "since": iso(r.status_at), "acked_seq": outbox.get("acked_seq"),
                     "last_seq": outbox.get("last_seq"), "warn_above": outbox.get("warn_above"),
                     "clock_skew_s": None if r.clock_skew_s is None else round(r.clock_skew_s,
                                                                                1)},
            "certificate_days_left": certificate_days_left(h, now),
            "uptime_s": h.get("uptime_s"),
            "open_alarms": open_alarms,
        }

    def nodes(self, *, site: str | None = None, state: str | None = None, sort: str = "site",
              offset: int = 0, limit: int = 100) -> dict[str, Any]:
        field_name = sort.removeprefix("-")
        if field_name not in SORTS:
            raise ValueError(f"sort: {sort!r} is not one of {sorted(SORTS)} (prefix - to reverse)")
        if state is not None and state not in STATE_ORDER:
            raise ValueError(f"state: {state!r} is not one of {sorted(STATE_ORDER)}")
        if offset < 0 or limit < 0:
            raise ValueError("offset and limit must be >= 0")
        now = time.time()
        light: list[tuple[dict[str, Any], NodeRow | None]] = [
            ({"site": k[0], "node": k[1], "state": st.value,
              "last_seen": iso(r.last_seen) if r is not None and field_name == "last_seen"
              else None}, r)
            for k, (st, r) in self._states_now(now, site).items()
            if state is None or st.value == state]
        light.sort(key=lambda v: (v[0]["site"], v[0]["node"]))
        light.sort(key=lambda v: _sort_key(v[0], field_name), reverse=sort.startswith("-"))
        page = light[offset:offset + limit]
        open_counts = Counter((a.site, a.node) for a in self.store.alarms(open_only=True))
        items = [self._node_view((v["site"], v["node"]), r, now,
                                 open_counts[(v["site"], v["node"])]) for v, r in page]
        return {"items": items, "total": len(light)}

    def node(self, site: str, node: str) -> dict[str, Any] | None:
        now = time.time()
        rows = self._rows()
        r = rows.get((site, node))
        if r is None and not self._inventory_roles(site, node) and not self._in_fleet(site, node):
            return None
        open_alarms = sum(1 for a in self.store.alarms(open_only=True, site=site)
                          if a.node == node)
        view = self._node_view((site, node), r, now, open_alarms)
        recent = self.store.events(site=site, node=node, limit=20, descending=True)
        view["recent_events"] = [_event_view(e) for e in recent]
        view["health_history"] = [
            {"ts": iso(h["at"]), "cpu_temp_c": h["cpu_temp_c"], "disk_free_mb": h["disk_free_mb"],
             "backlog": h["backlog"]}
            for h in self.store.health_history(site, node, now - 86400)]
        return view

    def _in_fleet(self, site: str, node: str) -> bool:
        return (site, node) in self._inventory

    # --- views: sites ----------------------------------------------------------------------------

    def sites(self, only: str | None = None) -> list[dict[str, Any]]:
        """Every site's summary (or only site ``only``'s): one pass over the nodes."""
        now = time.time()
        counts: Counter[tuple[str, str]] = Counter(
            (k[0], st.value) for k, (st, _) in self._states_now(now, only).items())
        alarms = Counter(a.site for a in self.store.alarms(open_only=True, site=only))
        queues = self.store.queues()
        names = {s.id: (s.name, s.kecamatan) for s in self.fleet.sites
                 if only is None or s.id == only}
        site_ids = list(names) + sorted({site for site, _ in counts} - set(names))
        day = self.store.day_counts(today(now))
        out = []
        for sid in site_ids:
            name, kecamatan = names.get(sid, (sid, ""))
            out.append({
                "site": sid, "name": name, "kecamatan": kecamatan,
                "nodes": {s.value: counts.get((sid, s.value), 0) for s in NodeState},
                "open_alarms": alarms.get(sid, 0),
                "waiting": _waiting(queues.get(sid)),
                "served_today": day.get(sid, {}).get("ticket.completed", 0),
                "unreachable": sid in self._snapshot.unreachable,
            })
        return out

    def site(self, site: str) -> dict[str, Any] | None:
        entry = next(iter(self.sites(only=site)), None)
        if entry is None:
            return None
        now = time.time()
        nodes = sorted(self._node_views(now, site), key=lambda v: v["node"])
        return {**entry, "nodes": nodes, "queue": self._queue_stats(site, now)}

    def _queue_stats(self, site: str, now: float) -> list[dict[str, Any]]:
        snapshot = self.store.queues().get(site) or {}
        waiting: dict[str, int] = dict(snapshot.get("waiting") or {})
        entry = self._site_index.get(site)
        names = {svc.code: svc.name for svc in entry.services} if entry is not None else {}
        stats = QueueDay()
        for kind, ts, data in self.store.day_events(site, today(now)):
            stats.add(kind, ts, data)
        codes = list(names) + sorted((set(waiting) | stats.codes()) - set(names))
        return [{"service": c, "name": names.get(c, c), "waiting": int(waiting.get(c, 0)),
                 **stats.of(c)} for c in codes]

    # --- alarms -------------------------------------------------------------------------------

    def _alarm_view(self, a: AlarmRow, silences: list[Any] | None = None) -> dict[str, Any]:
        silences = self.store.silences(time.time()) if silences is None else silences
        return {"id": a.id, "site": a.site, "node": a.node, "kind": a.kind, "detail": a.detail,
                "severity": a.severity, "state": a.state, "since": iso(a.since),
                "acked_by": a.acked_by, "acked_at": iso(a.acked_at),
                "cleared_at": iso(a.cleared_at),
                "silenced": any(s.covers(a.site, a.node) for s in silences)}

    def alarms(self, *, state: str = "open", site: str | None = None,
               kind: str | None = None) -> list[dict[str, Any]]:
        if state not in ("open", "all"):
            raise ValueError(f"state: {state!r} is not 'open' or 'all'")
        rows = self.store.alarms(open_only=state == "open", site=site, kind=kind)
        silences = self.store.silences(time.time())
        return [self._alarm_view(a, silences) for a in rows]

    def ack_alarm(self, alarm_id: int, *, user: str) -> dict[str, Any]:
        row = self.store.ack_alarm(alarm_id, user, time.time())
        self._audit(user, "ack", f"alarm/{alarm_id}", "ok")
        self._broadcast([{"kind": "alarm", "site": row.site, "node": row.node, "id": row.id}])
        return self._alarm_view(row)

    def silence(self, *, site: str, node: str | None, until: str, user: str,
                reason: str = "") -> dict[str, Any]:
        if not is_valid_id(site):
            raise ValueError(f"site: {site!r} is not a site id")
        if node is not None and not is_valid_id(node):
            raise ValueError(f"node: {node!r} is not a node id")
        end = parse_ts(until)
        if end is None:
            raise ValueError(f"until: {until!r} is not an ISO 8601 time with an offset")
        now = time.time()
        if end <= now:
            raise ValueError(f"until: {until} is in the past")
        row = self.store.add_silence(site, node, end, user, reason, now)
        target = site if node is None else f"{site}/{node}"
        self._audit(user, f"silence until {iso(end)}" + (f": {reason}" if reason else ""),
                    target, "ok")
        self._broadcast([{"kind": "site", "site": site, "node": node}])
        return {"id": row.id, "site": site, "node": node, "until": iso(end), "user": user,
                "reason": reason}

    # --- events, commands, audit ----------------------------------------------------------------

    def events(self, *, site: str | None = None, node: str | None = None, after: int = 0,
               limit: int = 100) -> dict[str, Any]:
        if after < 0 or not 0 < limit <= 1000:
            raise ValueError("after must be >= 0 and limit 1..1000")
        rows = self.store.events(site=site, node=node, after=after, limit=limit)
        return {"items": [_event_view(e) for e in rows],
                "next": rows[-1]["cursor"] if rows else after}

    def command(self, site: str, node: str, name: str, args: dict[str, Any], *, user: str,
                timeout_s: float = 10.0) -> dict[str, Any]:
        return self._commands.send(site, node, name, args, user=user, timeout_s=timeout_s)

    def audit(self, *, limit: int = 100) -> list[dict[str, Any]]:
        return [{"ts": iso(a["at"]), "user": a["user"], "action": a["action"],
                 "target": a["target"], "result": a["result"]} for a in self.store.audit(limit)]

    def metrics(self) -> bytes:
        return self.metrics_registry.render()

    def fleet_target_version(self) -> str | None:
        return self.config.fleet.target_version

    def node_state_of(self, site: str, node: str) -> str | None:
        """The state at the last evaluation (tests and the CLI)."""
        with self._lock:
            state = self._snapshot.states.get((site, node))
        return None if state is None else state.value


class QueueDay:
    """One day's ticket events of a site, folded into per-service numbers.

    >>> q = QueueDay()
    >>> q.add("ticket.issued", "2026-11-30T08:00:00+07:00",
    ...       {"number": "A-001", "service": "A", "assisted": True, "ahead": 0})
    >>> q.add("ticket.called", "2026-11-30T08:01:40+07:00", {"number": "A-001", "counter": 1})
    >>> q.add("ticket.completed", "2026-11-30T08:05:00+07:00", {"number": "A-001"})
    >>> q.of("A")
    {'avg_wait_s': 100.0, 'served': 1, 'no_shows': 0, 'assisted': 1}
    """

    def __init__(self) -> None:
        self._issued: dict[str, float] = {}
        self._waits: dict[str, list[float]] = {}
        self._served: Counter[str] = Counter()
        self._skipped: Counter[str] = Counter()
        self._assisted: Counter[str] = Counter()

    def add(self, kind: str, ts: str, data: dict[str, Any]) -> None:
        number = str(data.get("number", ""))
        code = number[:1]
        if not code:
            return
        at = parse_ts(ts)
        if kind == "ticket.issued":
            if at is not None:
                self._issued[number] = at
            if data.get("assisted"):
                self._assisted[code] += 1
        elif kind == "ticket.called":
            start = self._issued.pop(number, None)
            if start is not None and at is not None:
                self._waits.setdefault(code, []).append(max(0.0, at - start))
        elif kind == "ticket.completed":
            self._served[code] += 1
        elif kind == "ticket.skipped":
            self._skipped[code] += 1

    def codes(self) -> set[str]:
        return set(self._waits) | set(self._served) | set(self._skipped) | set(self._assisted) \
            | {n[:1] for n in self._issued}

    def of(self, code: str) -> dict[str, Any]:
        waits = self._waits.get(code, [])
        return {"avg_wait_s": round(sum(waits) / len(waits), 1) if waits else None,
                "served": self._served[code], "no_shows": self._skipped[code],
                "assisted": self._assisted[code]}


def _began(kind: str, r: NodeRow, silent_due: float | None) -> float | None:
    """When a node's condition began, if the row tells (else the hold-down counts from when
    the evaluator first saw it): the Will's receive time, the silent deadline, a device's
    ``since``."""
    if kind == "offline":
        return r.status_at if r.status_at is not None else r.first_seen
    if kind == "silent":
        return silent_at(online=r.online, status_at=r.status_at, health_at=r.health_at,
                         silent_after_s=0.0) if silent_due is None else silent_due
    since = r.devices.get(kind, {}).get("since") if kind in r.devices else None
    return float(since) if isinstance(since, int | float) else None


def _waiting(snapshot: dict[str, Any] | None) -> int:
    waiting = (snapshot or {}).get("waiting") or {}
    return sum(int(v) for v in waiting.values() if isinstance(v, int))


def _event_view(e: dict[str, Any]) -> dict[str, Any]:
    return {k: e[k] for k in ("cursor", "site", "node", "epoch", "seq", "ts", "type", "data")}


def _sort_key(view: dict[str, Any], field_name: str) -> Any:
    if field_name == "state":
        return STATE_ORDER[view["state"]]
    if field_name == "last_seen":
        return view["last_seen"] or ""
    return view[field_name]


def _load_fleet(config: NccConfig) -> Fleet:
    try:
        return load_fleet(config.fleet.path)
    except FleetError as e:
        raise ValueError(f"fleet.path: {e}") from None


__all__ = ["NODE_STATE_KINDS", "Monitor", "QueueDay", "iso"]
