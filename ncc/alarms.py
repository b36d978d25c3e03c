"""Alarm rules: which conditions hold for a node or a site now (pure), and the hold-down
that turns a condition that lasts into one open alarm per (site, node, kind).

``conditions`` and ``site_unreachable`` are pure; ``HoldDown`` decides what to open and
what to clear from one evaluation to the next. Labels are Bahasa Indonesia for the web.

>>> from ncc.config import AlarmSettings
>>> c = conditions(NodeFacts(state=NodeState.OFFLINE, health=None, devices={},
...                          version="0.1.0", clock_skew_s=None), now=0.0,
...                settings=AlarmSettings(), target_version=None)
>>> c
{'offline': Condition(detail='luring', severity='critical')}
>>> describe("printer", "paper_out")
'Printer: kertas habis'
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ncc.config import AlarmSettings
from ncc.messages import parse_ts
from ncc.state import NodeState

# kind -> Indonesian label (what the dashboard shows)
KIND_LABELS: dict[str, str] = {
    "offline": "Node luring",
    "silent": "Node senyap",
    "printer": "Printer",
    "embosser": "Embosser Braille",
    "cells": "Sel Braille",
    "speaker": "Speaker",
    "buttons": "Tombol",
    "storage": "Penyimpanan",
    "bpjs": "BPJS Antrean FKTP",
    "certificate": "Sertifikat segera kedaluwarsa",
    "clock_skew": "Jam node tidak sinkron",
    "backlog": "Antrean kirim menumpuk",
    "version": "Versi perangkat lunak berbeda",
    "site_unreachable": "Puskesmas tidak terjangkau",
}
STATE_LABELS: dict[str, str] = {
    "paper_out": "kertas habis",
    "offline": "tidak terhubung",
    "error": "galat",
    "stuck": "macet",
    "full": "penuh",
    "damaged": "basis data rusak, dipindahkan",
    "refused": "data ditolak BPJS",
    "retrying": "tidak terjangkau, dikirim ulang",
    "luring": "luring",
    "senyap": "senyap",
}
SEVERITY: dict[str, str] = {
    "offline": "critical", "silent": "warning", "site_unreachable": "critical",
    "storage": "warning", "certificate": "warning", "clock_skew": "warning",
    "backlog": "warning", "version": "info",
}
DEVICE_OK = frozenset({"ok", "disabled"})
NODE_STATE_KINDS = frozenset({"offline", "silent"})


def describe(kind: str, detail: str) -> str:
    """The Indonesian text of an alarm: its kind's label and, for devices, the state."""
    label = KIND_LABELS.get(kind, f"Perangkat {kind}")
    state = STATE_LABELS.get(detail)
    return f"{label}: {state}" if state and kind not in NODE_STATE_KINDS else label


@dataclass(frozen=True)
class Condition:
    detail: str
    severity: str


@dataclass(frozen=True)
class NodeFacts:
    """What the rules read about one node."""

    state: NodeState
    health: dict[str, Any] | None
    devices: dict[str, dict[str, Any]]
    version: str | None
    clock_skew_s: float | None


def conditions(
    facts: NodeFacts, *, now: float, settings: AlarmSettings, target_version: str | None
) -> dict[str, Condition]:
    """Every alarm condition that holds for one node now, by kind."""
    if facts.state is NodeState.OFFLINE:
        return {"offline": Condition("luring", "critical")}
    out: dict[str, Condition] = {}
    if facts.state is NodeState.SILENT:
        out["silent"] = Condition("senyap", "warning")
    for name, device in facts.devices.items():
        state = str(device.get("state"))
        if state not in DEVICE_OK:
            severity = "critical" if state in ("paper_out", "offline", "stuck") else "warning"
            out[name] = Condition(state, severity)
    h = facts.health or {}
    out.update(_health_conditions(h, now, settings))
    if facts.clock_skew_s is not None and abs(facts.clock_skew_s) > settings.clock_skew_s:
        out["clock_skew"] = Condition(f"{facts.clock_skew_s:+.0f} s", "warning")
    if target_version and facts.version and facts.version != target_version:
        out["version"] = Condition(f"{facts.version} (target {target_version})", "info")
    return out


def _health_conditions(h: dict[str, Any], now: float, s: AlarmSettings) -> dict[str, Condition]:
    out: dict[str, Condition] = {}
    system = h.get("system") or {}
    used = system.get("disk_used_pct")
    if isinstance(used, int | float) and used >= s.disk_used_pct:
        out["storage"] = Condition(f"{used:.0f}% used", "warning")
    outbox = h.get("outbox") or {}
    if outbox.get("warning") is True:
        out["backlog"] = Condition(
            f"{outbox.get('backlog')} events (above {outbox.get('warn_above')})", "warning")
    days = certificate_days_left(h, now)
    if days is not None and days < s.certificate_days:
        out["certificate"] = Condition(f"{days} days left", "warning")
    return out


def certificate_days_left(health: dict[str, Any] | None, now: float) -> int | None:
    """Days left of the node's certificate that expires first (``health.certificates``:
    its CA, its client certificate, the site broker's), from ``not_after`` when readable.

    >>> certificate_days_left({"certificates": [
    ...     {"name": "ca", "days_left": 800, "not_after": "1972-03-11T00:00:00+00:00"},
    ...     {"name": "broker", "days_left": 9, "not_after": "1970-01-11T00:00:00+00:00"}]}, 0)
    10
    """
    certs = (health or {}).get("certificates")
    if not isinstance(certs, list):
        return None
    days: list[int] = []
    for cert in certs:
        if not isinstance(cert, dict):
            continue
        end = _not_after(str(cert.get("not_after")))
        if end is not None:
            days.append(int((end - now) // 86400))
        elif isinstance(cert.get("days_left"), int):
            days.append(int(cert["days_left"]))
    return min(days) if days else None


@lru_cache(maxsize=65536)
def _not_after(text: str) -> float | None:
    """A certificate's end, parsed once per distinct text (every node repeats its own)."""
    return parse_ts(text)


def site_unreachable(states: list[NodeState], min_nodes: int) -> bool:
    """Every seen node of the site gone at once (and the site has enough nodes to tell).

    >>> site_unreachable([NodeState.OFFLINE, NodeState.OFFLINE], 2)
    True
    >>> site_unreachable([NodeState.OFFLINE], 2), site_unreachable([NodeState.OFFLINE,
    ...     NodeState.ONLINE], 2)
    (False, False)
    """
    return len(states) >= max(1, min_nodes) and all(s is not NodeState.ONLINE for s in states)


Key = tuple[str, str | None, str]  # (site, node or None for the site, kind)


@dataclass(frozen=True)
class Decision:
    to_open: dict[Key, Condition]
    to_clear: tuple[Key, ...]
    to_update: dict[Key, Condition]


class HoldDown:
    """A condition opens an alarm only after it held for ``hold_down_s``; an open alarm
    clears as soon as its condition is gone. ``frozen`` keys (nodes of an unreachable
    site) neither open nor clear.

    >>> h = HoldDown(60)
    >>> k = ("janti", "kios-1", "offline")
    >>> h.step({k: Condition("luring", "critical")}, open_keys={}, now=0).to_open
    {}
    >>> list(h.step({k: Condition("luring", "critical")}, open_keys={}, now=60).to_open)
    [('janti', 'kios-1', 'offline')]
    >>> h.step({}, open_keys={k: "luring"}, now=61).to_clear
    (('janti', 'kios-1', 'offline'),)
    """

    def __init__(self, hold_down_s: float) -> None:
        self.hold_down_s = hold_down_s
        self._pending: dict[Key, float] = {}

    def step(
        self, holding: dict[Key, Condition], *, open_keys: dict[Key, str], now: float,
        frozen: frozenset[Key] = frozenset(),
    ) -> Decision:
        to_open: dict[Key, Condition] = {}
        to_update: dict[Key, Condition] = {}
        for key, cond in holding.items():
            if key in open_keys:
                if open_keys[key] != cond.detail:
                    to_update[key] = cond
                continue
            if key in frozen:
                continue
            since = self._pending.setdefault(key, now)
            if now - since >= self.hold_down_s:
                to_open[key] = cond
        for key in list(self._pending):
            if key not in holding or key in to_open:
                del self._pending[key]
        to_clear = tuple(k for k in open_keys if k not in holding and k not in frozen)
        return Decision(to_open, to_clear, to_update)
