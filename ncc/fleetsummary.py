"""The fleet at a glance: totals and the sites that need attention first.

Computed from one evaluator pass (its node states and unreachable sites) and the open
alarms, once per pass however many pages ask (``Monitor.summary`` keeps the last one), so
the overview of 10,000 sites costs what 50 tiles cost.

>>> from ncc.state import NodeState as S
>>> s = summarize({("a", "1"): S.ONLINE, ("b", "1"): S.OFFLINE}, frozenset({"b"}),
...               [("a", "1"), ("b", "1"), ("c", "1")], ["a", "b", "c"],
...               [("a", "printer", "warning", 1), ("b", "site_unreachable", "critical", 1)])
>>> s.nodes, s.open_alarms, s.alarms_by_kind["printer"], s.unreachable
({'online': 1, 'silent': 0, 'offline': 2}, 2, 1, ('b',))
>>> s.attention
('b', 'a', 'c')
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ncc.rowindex import NodeKey
from ncc.state import NodeState

ATTENTION = 12  # sites listed first on the overview of a large fleet


@dataclass(frozen=True)
class FleetSummary:
    sites: int
    nodes: dict[str, int]  # state -> how many nodes (never seen: offline)
    open_alarms: int
    alarms_by_kind: dict[str, int]
    unreachable: tuple[str, ...]  # site ids, in the inventory's order
    attention: tuple[str, ...]  # site ids, most urgent first
    at: float = 0.0  # when the evaluator's pass behind it ran (Unix seconds)


def summarize(states: Mapping[NodeKey, NodeState], unreachable: frozenset[str],
              keys: Iterable[NodeKey], site_ids: list[str],
              alarms: Iterable[tuple[str, str, str, int]], *, limit: int = ATTENTION,
              at: float = 0.0) -> FleetSummary:
    """``alarms``: (site, kind, severity, how many) of the open alarms."""
    totals: Counter[NodeState] = Counter()
    not_online: Counter[str] = Counter()
    for key in keys:
        state = states.get(key, NodeState.OFFLINE)
        totals[state] += 1
        if state is not NodeState.ONLINE:
            not_online[key[0]] += 1
    by_kind: Counter[str] = Counter()
    per_site: Counter[str] = Counter()
    critical: Counter[str] = Counter()
    for site, kind, severity, n in alarms:
        by_kind[kind] += n
        per_site[site] += n
        if severity == "critical":
            critical[site] += n

    def urgency(site: str) -> tuple[bool, int, int, int]:
        return site in unreachable, critical[site], per_site[site], not_online[site]

    candidates = [s for s in site_ids if any(urgency(s))]
    return FleetSummary(
        sites=len(site_ids), nodes={s.value: totals[s] for s in NodeState},
        open_alarms=sum(per_site.values()), alarms_by_kind=dict(by_kind.most_common()),
        unreachable=tuple(s for s in site_ids if s in unreachable),
        attention=tuple(heapq.nlargest(limit, candidates, key=urgency)), at=at)
