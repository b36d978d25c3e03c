"""What the NCC receives from the central broker, parsed and checked into value objects.

Pure: topic + payload in, one record (or a reason to reject) out; no I/O.

>>> m = parse("brexit/v1/janti/kios-1/status",
...           b'{"online":true,"session":3,"ts":"2026-11-29T08:00:00+07:00",'
...           b'"version":"0.1.0","roles":["kiosk"]}', retained=False, now=0.0)
>>> m.site, m.node, m.online, m.session
('janti', 'kios-1', True, 3)
>>> parse("brexit/v1/janti/kios-1/status", b'{"online":"yes","session":1,'
...       b'"ts":"2026-11-29T08:00:00+07:00","version":"0.1.0","roles":[]}',
...       retained=False, now=0.0)
Rejected(topic='brexit/v1/janti/kios-1/status', reason="online: 'yes' is not of type 'boolean'")
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contract.schemas import Schemas
from contract.topics import NodeAddress, is_valid_id
from ncc.fastschema import FastSchemas
from ncc.fastschema import loads as fast_loads

_SCHEMAS: Schemas | None = None
_FAST: FastSchemas | None = None


def schemas() -> Schemas:
    global _SCHEMAS
    if _SCHEMAS is None:
        _SCHEMAS = Schemas.load()
    return _SCHEMAS


def fast_schemas() -> FastSchemas:
    """The same schemas compiled (what ingest checks every message with)."""
    global _FAST
    if _FAST is None:
        _FAST = FastSchemas.load()
    return _FAST


@dataclass(frozen=True)
class EventMsg:
    site: str
    node: str
    epoch: str  # "" for a node that does not send one yet
    seq: int
    id: str
    ts: str
    type: str
    data: dict[str, Any]
    received: float


@dataclass(frozen=True)
class StatusMsg:
    site: str
    node: str
    online: bool
    session: int
    ts: str
    version: str
    roles: tuple[str, ...]
    received: float
    epoch: str | None = None


@dataclass(frozen=True)
class HealthMsg:
    site: str
    node: str
    payload: dict[str, Any]
    retained: bool
    received: float


@dataclass(frozen=True)
class QueueMsg:
    site: str
    payload: dict[str, Any]
    received: float


@dataclass(frozen=True)
class ReplyMsg:
    site: str
    node: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Rejected:
    topic: str
    reason: str


Message = EventMsg | StatusMsg | HealthMsg | QueueMsg | ReplyMsg | Rejected


def parse(topic: str, raw: bytes, *, retained: bool, now: float) -> Message | None:
    """The record for one MQTT message; None for a topic the NCC does not read."""
    queue_site, address = _route(topic)
    if queue_site is None and (address is None or address.kind not in _KINDS):
        return None
    obj = fast_loads(raw)
    if obj is None:
        return Rejected(topic, "not a JSON object")
    if queue_site is not None:
        return _checked(topic, "queue", obj) or QueueMsg(queue_site, obj, now)
    assert address is not None
    return _KINDS[address.kind](topic, address, obj, retained, now)


_ROUTES: dict[str, tuple[str | None, NodeAddress | None]] = {}
ROUTES_KEPT = 200_000  # topics remembered (30,000 nodes x 4 kinds, and every site's queue)


def _route(topic: str) -> tuple[str | None, NodeAddress | None]:
    """(queue site, node address) of a topic, remembered: a node sends on a few topics."""
    found = _ROUTES.get(topic)
    if found is None:
        if len(_ROUTES) >= ROUTES_KEPT:
            _ROUTES.clear()
        found = _ROUTES[topic] = (_queue_site(topic), NodeAddress.parse(topic))
    return found


def _queue_site(topic: str) -> str | None:
    parts = topic.split("/")
    if len(parts) == 4 and parts[:2] == ["brexit", "v1"] and parts[3] == "queue":
        return parts[2] if is_valid_id(parts[2]) and parts[2] != "ncc" else None
    return None


def _checked(topic: str, schema: str, obj: dict[str, Any]) -> Rejected | None:
    problems = fast_schemas().errors(schema, obj, from_loads=True)
    return Rejected(topic, problems[0]) if problems else None


def event_problems(obj: dict[str, Any], *, from_loads: bool = False) -> list[str]:
    """Schema problems of an event envelope. A node of contract v1 (before epochs) sends
    none: its events are checked as if it had, and stored under the epoch ""."""
    check = obj if "epoch" in obj else {**obj, "epoch": "v1"}
    fast = fast_schemas()
    if from_loads and fast.valid_loaded("event", check):
        return []
    return fast.errors("event", check, from_loads=from_loads)


def _event(
    topic: str, a: NodeAddress, obj: dict[str, Any], retained: bool, now: float
) -> Message:
    problems = event_problems(obj, from_loads=True)
    if problems:
        return Rejected(topic, problems[0])
    if (obj["site"], obj["node"]) != (a.site, a.node):
        return Rejected(topic, f"site/node {obj['site']}/{obj['node']} differ from the topic")
    return EventMsg(a.site, a.node, str(obj.get("epoch", "")), obj["seq"], obj["id"], obj["ts"],
                    obj["type"], obj["data"], now)


def _status(
    topic: str, a: NodeAddress, obj: dict[str, Any], retained: bool, now: float
) -> Message:
    rejected = _checked(topic, "status", obj)
    if rejected:
        return rejected
    return StatusMsg(a.site, a.node, obj["online"], obj["session"], obj["ts"], obj["version"],
                     tuple(obj["roles"]), now, obj.get("epoch"))


def _health(
    topic: str, a: NodeAddress, obj: dict[str, Any], retained: bool, now: float
) -> Message:
    return _checked(topic, "health", obj) or HealthMsg(a.site, a.node, obj, retained, now)


def _reply(
    topic: str, a: NodeAddress, obj: dict[str, Any], retained: bool, now: float
) -> Message:
    return _checked(topic, "reply", obj) or ReplyMsg(a.site, a.node, obj)


_KINDS = {"event": _event, "status": _status, "health": _health, "reply": _reply}


def parse_ts(text: str) -> float | None:
    """Unix seconds of an ISO 8601 timestamp with offset, or None.

    >>> parse_ts("1970-01-01T07:00:01+07:00")
    1.0
    >>> parse_ts("yesterday") is None
    True
    """
    try:
        dt = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return None if dt.tzinfo is None else dt.timestamp()
