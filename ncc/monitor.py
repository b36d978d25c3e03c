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
from collections.abc import Callable, Iterable
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
from ncc.fleetsummary import FleetSummary, summarize
from ncc.ingest import Ingest, IngestStats
from ncc.messages import ReplyMsg, parse_ts
from ncc.metrics import Metrics
from ncc.notify import Notifier
from ncc.rowindex import NodeKey, RowIndex
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
SITES_PER_PAGE = 50  # the overview's page of sites; a fleet this small shows every site
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
        # node rows, parsed, by site, and every known node in order (the views' index)
        self._index = RowIndex(self._inventory, self._site_index)
        self._loaded = False
        self._ticket = 0  # counts the takings of changed rows (see ``_refresh``)
        self._taken: dict[NodeKey, int] = {}
        self._summary: tuple[_Snapshot, FleetSummary] | None = None
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
        """Every node's row (a copy, for the evaluator; a view reads ``_index`` instead)."""
        self._refresh()
        with self._rows_lock:
            return dict(self._index.rows)

    def _refresh(self, keys: Iterable[NodeKey] | None = None) -> RowIndex:
        """The index, with the rows the ingest changed re-read (of ``keys`` only, when
        given: a page re-reads what it shows, the evaluator's pass the rest). Rows are
        parsed once, then only the changed ones. The store is read outside ``_rows_lock``
        (a page never waits for the evaluator's big re-read); a read applies only if no
        read of the same row began after it (``_taken``), so an older row never wins."""
        if not self._loaded:
            with self._rows_lock:
                if not self._loaded:
                    with self._inbox_lock:
                        self._dirty = set()
                    self._index.update(self.store.nodes())
                    self._loaded = True
        with self._inbox_lock:
            if keys is None:
                dirty, self._dirty = self._dirty, set()
            else:
                dirty = self._dirty.intersection(keys)
                self._dirty -= dirty
            self._ticket += 1
            ticket = self._ticket
        if not dirty:
            return self._index
        rows = self.store.nodes(dirty)
        with self._rows_lock:
            taken = self._taken
            fresh = [r for r in rows if taken.get((r.site, r.node), -1) < ticket]
            taken.update({(r.site, r.node): ticket for r in fresh})
            self._index.update(fresh)
        return self._index

    def _site_keys(self, sites: Iterable[str]) -> list[NodeKey]:
        index = self._index
        return [(site, node) for site in sites for node in index.nodes_of(site)]

    def _keys(self, rows: dict[tuple[str, str], NodeRow],
              site: str | None = None) -> list[tuple[str, str]]:
        """Seen nodes and the inventory's nodes (of ``site`` when given), in order."""
        index = self._index
        return list(index.keys) if site is None else [(site, n) for n in index.site_nodes(site)]

    def _node_views(self, now: float, site: str | None = None) -> list[dict[str, Any]]:
        rows = self._refresh(None if site is None else self._site_keys([site])).rows
        open_counts = self.store.open_alarm_counts(None if site is None else [site])
        return [self._node_view(key, rows.get(key), now, open_counts.get(key, 0))
                for key in self._keys(rows, site)]

    def _states_now(self, now: float, site: str | None = None
                    ) -> dict[tuple[str, str], tuple[NodeState, NodeRow | None]]:
        """Every node's state (and row; of ``site`` when given), without its whole view."""
        rows = self._refresh(None if site is None else self._site_keys([site])).rows
        state = self._stater(now)
        return {k: (state(r := rows.get(k)), r) for k in self._keys(rows, site)}

    def _stater(self, now: float) -> Callable[[NodeRow | None], NodeState]:
        """A row's state at ``now`` (no row: offline), for loops over many nodes."""
        silent_after_s = self.config.alarms.silent_after_s
        offline = NodeState.OFFLINE

        def state(r: NodeRow | None) -> NodeState:
            return offline if r is None else node_state(
                online=r.online, status_at=r.status_at, health_at=r.health_at, now=now,
                silent_after_s=silent_after_s)
        return state

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
        index = self._refresh(())
        if sort == "site" and state is None:  # the default: a slice of the ordered keys
            keys = self._keys(index.rows, site) if site is not None else index.keys
            page_keys, total = keys[offset:offset + limit], len(keys)
            self._refresh(page_keys)
        else:
            page_keys, total = self._sorted_keys(now, site, state, sort)
            page_keys = page_keys[offset:offset + limit]
        open_counts = self.store.open_alarm_counts({k[0] for k in page_keys})
        items = [self._node_view(k, index.rows.get(k), now, open_counts.get(k, 0))
                 for k in page_keys]
        return {"items": items, "total": total}

    def _sorted_keys(self, now: float, site: str | None, state: str | None, sort: str
                     ) -> tuple[list[NodeKey], int]:
        """Every node (of ``site``, in ``state``) in ``sort`` order: O(nodes), for the
        filters and sorts the ordered key list does not answer."""
        field_name = sort.removeprefix("-")
        rows = self._refresh(None if site is None else self._site_keys([site])).rows
        state_of = self._stater(now)
        light = [(k, st, r.last_seen if r is not None else None)
                 for k in self._keys(rows, site)  # in (site, node) order
                 if (st := state_of(r := rows.get(k))) == state or state is None]
        descending = sort.startswith("-")
        if field_name in ("state", "last_seen"):  # numbers: ties stay in (site, node) order
            sign = -1 if descending else 1
            ranked = sorted((sign * _light_key(v, field_name), v[0]) for v in light)
            return [k for _, k in ranked], len(ranked)
        if field_name != "site" or descending:
            light.sort(key=lambda v: _light_key(v, field_name), reverse=descending)
        return [v[0] for v in light], len(light)

    def node(self, site: str, node: str) -> dict[str, Any] | None:
        now = time.time()
        r = self._refresh([(site, node)]).rows.get((site, node))
        if r is None and not self._inventory_roles(site, node) and not self._in_fleet(site, node):
            return None
        open_alarms = self.store.open_alarm_counts([site]).get((site, node), 0)
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

    def sites(self, only: str | None = None, *, q: str | None = None, offset: int = 0,
              limit: int | None = None) -> list[dict[str, Any]]:
        """Every site's summary, in the inventory's order (or only site ``only``'s; or those
        whose id, name or kecamatan contains ``q``; then ``limit`` of them from ``offset``)."""
        if offset < 0 or (limit is not None and limit < 0):
            raise ValueError("offset and limit must be >= 0")
        ids = self.site_ids(q) if only is None else (
            [only] if self._refresh(()).has_site(only) else [])
        return self.site_entries(ids[offset:None if limit is None else offset + limit])

    def site_ids(self, q: str | None = None) -> list[str]:
        """Site ids in the inventory's order (seen ones not listed last); with ``q``, those
        whose id, name or kecamatan contains it (case-insensitive): O(sites), no store."""
        ids = self._refresh(()).site_ids()
        if not q:
            return ids
        needle = q.casefold()
        return [sid for sid in ids if needle in sid.casefold() or (
            (entry := self._site_index.get(sid)) is not None and (
                needle in entry.name.casefold() or needle in entry.kecamatan.casefold()))]

    def site_count(self) -> int:
        return self._refresh(()).site_count()

    def site_names(self) -> list[dict[str, str]]:
        """Every site's id and name (the pages' site filter)."""
        return [{"site": sid, "name": e.name if (e := self._site_index.get(sid)) else sid}
                for sid in self._refresh(()).site_ids()]

    def site_entries(self, ids: list[str]) -> list[dict[str, Any]]:
        """The summaries of sites ``ids``: their nodes only, and one store read each for
        their open alarms, queue snapshots and day counts."""
        if not ids:
            return []
        now = time.time()
        rows = self._refresh(self._site_keys(ids)).rows
        alarms: Counter[str] = Counter()
        for (sid, _), n in self.store.open_alarm_counts(ids).items():
            alarms[sid] += n
        queues = self.store.queues(ids)
        day = self.store.day_counts(today(now), ids)
        state_of = self._stater(now)
        return [self._site_entry(sid, rows, state_of, alarms.get(sid, 0), queues.get(sid),
                                 day.get(sid, {}).get("ticket.completed", 0)) for sid in ids]

    def _site_entry(self, sid: str, rows: dict[NodeKey, NodeRow],
                    state_of: Callable[[NodeRow | None], NodeState], open_alarms: int,
                    queue: dict[str, Any] | None, served_today: int) -> dict[str, Any]:
        entry = self._site_index.get(sid)
        counts = {"online": 0, "silent": 0, "offline": 0}  # NodeState's values
        for node in self._index.nodes_of(sid):
            counts[state_of(rows.get((sid, node)))] += 1
        return {"site": sid, "name": entry.name if entry else sid,
                "kecamatan": entry.kecamatan if entry else "", "nodes": counts,
                "open_alarms": open_alarms, "waiting": _waiting(queue),
                "served_today": served_today, "unreachable": sid in self._snapshot.unreachable}

    def site(self, site: str) -> dict[str, Any] | None:
        """The site's summary, its nodes' views and today's queue per service: three store
        reads (open alarms, queue snapshot, the day's ticket events), whatever the fleet."""
        if not self._refresh(()).has_site(site):
            return None
        now = time.time()
        keys = self._site_keys([site])
        rows = self._refresh(keys).rows
        open_counts = self.store.open_alarm_counts([site])
        queue = self.store.queues([site]).get(site)
        stats = QueueDay()
        served = 0
        for kind, ts, data in self.store.day_events(site, today(now)):
            stats.add(kind, ts, data)
            served += kind == "ticket.completed"
        entry = self._site_entry(site, rows, self._stater(now),
                                 sum(open_counts.values()), queue, served)
        nodes = [self._node_view(k, rows.get(k), now, open_counts.get(k, 0)) for k in keys]
        return {**entry, "nodes": nodes, "queue": self._queue_stats(site, queue, stats)}

    def _queue_stats(self, site: str, snapshot: dict[str, Any] | None,
                     stats: QueueDay) -> list[dict[str, Any]]:
        waiting: dict[str, int] = dict((snapshot or {}).get("waiting") or {})
        entry = self._site_index.get(site)
        names = {svc.code: svc.name for svc in entry.services} if entry is not None else {}
        codes = list(names) + sorted((set(waiting) | stats.codes()) - set(names))
        return [{"service": c, "name": names.get(c, c), "waiting": int(waiting.get(c, 0)),
                 **stats.of(c)} for c in codes]

    def fleet_summary(self) -> FleetSummary:
        """Totals and the sites needing attention, as of the evaluator's last pass (computed
        once per pass, however many pages ask)."""
        snapshot = self._snapshot
        kept = self._summary
        if kept is not None and kept[0] is snapshot:
            return kept[1]
        index = self._refresh(())  # rows as of the evaluator's pass, like its states
        with self._rows_lock:
            keys = list(index.keys)
        result = summarize(snapshot.states, snapshot.unreachable, keys, index.site_ids(),
                           self.store.open_alarm_groups(), at=time.time())
        self._summary = (snapshot, result)
        return result

    def summary(self) -> dict[str, Any]:
        """The fleet at a glance (``/api/v1/summary``): totals as of the evaluator's last
        pass, and the summaries of the sites that need attention first."""
        s = self.fleet_summary()
        return {"sites": s.sites, "nodes": dict(s.nodes), "open_alarms": s.open_alarms,
                "alarms_by_kind": dict(s.alarms_by_kind), "unreachable": len(s.unreachable),
                "unreachable_sites": list(s.unreachable[:SITES_PER_PAGE]),
                "attention": self.site_entries(list(s.attention)), "as_of": iso(s.at)}

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


def _light_key(v: tuple[NodeKey, NodeState, float | None], field_name: str) -> Any:
    """The sort key of (key, state, last seen) for ``field_name``."""
    if field_name == "state":
        return STATE_ORDER[v[1]]
    if field_name == "last_seen":
        return -1.0 if v[2] is None else v[2]
    return v[0][0] if field_name == "site" else v[0][1]


def _load_fleet(config: NccConfig) -> Fleet:
    try:
        return load_fleet(config.fleet.path)
    except FleetError as e:
        raise ValueError(f"fleet.path: {e}") from None


__all__ = ["NODE_STATE_KINDS", "Monitor", "QueueDay", "iso"]
