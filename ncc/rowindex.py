"""The node rows the views read, indexed so that a request touches only what it shows.

``RowIndex`` keeps every node's parsed row by site, and every known node (the inventory's
and every node ever seen) as a sorted key list: a site page reads that site's few nodes,
the nodes API slices the list. Rows are replaced only when the ingest changed them
(``Monitor._rows`` hands them in), so a request never re-reads or copies the fleet.

Writers hold the monitor's rows lock; readers use single operations (a dict get, a list
slice), which are atomic under the GIL.

>>> ix = RowIndex([("b", "n1"), ("a", "n2")], ["b", "a"])
>>> ix.keys, ix.site_ids()
([('a', 'n2'), ('b', 'n1')], ['b', 'a'])
>>> ix.add_key(("c", "n1")); ix.add_key(("a", "n1")); ix.keys
[('a', 'n1'), ('a', 'n2'), ('b', 'n1'), ('c', 'n1')]
>>> ix.site_nodes("a"), ix.site_ids(), ix.site_nodes("zz")
(['n1', 'n2'], ['b', 'a', 'c'], [])
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Sequence

from ncc.store import NodeRow

NodeKey = tuple[str, str]


class RowIndex:
    def __init__(self, inventory: Iterable[NodeKey], site_order: Iterable[str]) -> None:
        self.rows: dict[NodeKey, NodeRow] = {}
        self.keys: list[NodeKey] = sorted(set(inventory))
        self._known = set(self.keys)
        self._by_site: dict[str, list[str]] = {}
        for site, node in self.keys:
            self._by_site.setdefault(site, []).append(node)
        self._order = list(dict.fromkeys(site_order))
        self._listed = set(self._order)
        self._extra: list[str] = sorted(set(self._by_site) - self._listed)

    def update(self, rows: Iterable[NodeRow]) -> None:
        for r in rows:
            key = (r.site, r.node)
            self.rows[key] = r
            self.add_key(key)

    def add_key(self, key: NodeKey) -> None:
        if key in self._known:
            return
        self._known.add(key)
        insort(self.keys, key)
        site, node = key
        nodes = self._by_site.get(site)
        if nodes is None:
            self._by_site[site] = [node]
            if site not in self._listed:
                insort(self._extra, site)
        else:
            insort(nodes, node)

    def nodes_of(self, site: str) -> Sequence[str]:
        """The site's node ids, sorted (the index's own list: read, do not change)."""
        return self._by_site.get(site, ())

    def site_nodes(self, site: str) -> list[str]:
        """The site's node ids, sorted (a copy)."""
        return list(self._by_site.get(site, ()))

    def has_site(self, site: str) -> bool:
        return site in self._by_site or site in self._listed

    def site_ids(self) -> list[str]:
        """The inventory's sites in its order, then sites seen but not listed, sorted."""
        return self._order + self._extra

    def site_count(self) -> int:
        return len(self._order) + len(self._extra)

    def position(self, key: NodeKey) -> int:
        """Where ``key`` is (or would be) in ``keys``."""
        return bisect_left(self.keys, key)
