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
    """``alarms``: (site, kind, severity, how many) of the open alarms. Loops that visit
    every node are comprehensions and ``Counter`` (C speed): a pass over 30,000 nodes."""
    online = NodeState.ONLINE
    unseen = [k for k in keys if k not in states]
    totals: Counter[NodeState] = Counter(states.values())
    totals[NodeState.OFFLINE] += len(unseen)
    not_online: Counter[str] = Counter([k[0] for k, st in states.items() if st is not online])
    not_online.update([k[0] for k in unseen])
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

    flagged = unreachable | per_site.keys() | not_online.keys()
    candidates = [s for s in site_ids if s in flagged]  # ties: in the inventory's order
    return FleetSummary(
        sites=len(site_ids), nodes={s.value: totals[s] for s in NodeState},
        open_alarms=sum(per_site.values()), alarms_by_kind=dict(by_kind.most_common()),
        unreachable=tuple(s for s in candidates if s in unreachable),
        attention=tuple(heapq.nlargest(limit, candidates, key=urgency)), at=at)
