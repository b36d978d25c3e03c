"""Operator commands to a node: checked against the command's JSON Schema, published on
``brexit/v1/{site}/{node}/cmd/{name}`` with a fresh id, answered from the node's ``reply``
topic, and audited (who, when, what, result).

>>> c = Commands(publish=lambda topic, payload: None, audit=lambda *a: None)
>>> c.payload("selftest", {}, command_id="6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b")
{'id': '6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b'}
>>> c.payload("selftest", {"x": 1}, command_id="6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b")
Traceback (most recent call last):
...
ValueError: cmd/selftest: (payload): Additional properties are not allowed ('x' was unexpected)
>>> c.payload("format_disk", {}, command_id="x")
Traceback (most recent call last):
...
ValueError: unknown command 'format_disk' (one of: announce, call_next, complete, label, \
message, recall, reprint, selftest, skip, transfer)
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contract.payloads import encode
from contract.topics import NodeTopics
from ncc.messages import ReplyMsg, schemas


@dataclass
class _Waiter:
    site: str
    node: str
    done: threading.Event = field(default_factory=threading.Event)
    reply: dict[str, Any] | None = None


class Commands:
    """``publish(topic, payload)`` hands the command to the ingest thread; ``audit(user,
    action, target, result)`` records it; ``on_reply`` is fed from the ingest."""

    def __init__(
        self, *, publish: Callable[[str, bytes], None],
        audit: Callable[[str, str, str, str], None],
    ) -> None:
        self._publish, self._audit = publish, audit
        self._lock = threading.Lock()
        self._waiting: dict[str, _Waiter] = {}

    @property
    def names(self) -> frozenset[str]:
        return schemas().command_names

    def payload(self, name: str, args: dict[str, Any], *, command_id: str) -> dict[str, Any]:
        """The command's payload, or ValueError naming what its schema rejects."""
        if name not in self.names:
            raise ValueError(f"unknown command {name!r} (one of: {', '.join(sorted(self.names))})")
        if not isinstance(args, dict):
            raise ValueError(f"{name}: args must be an object")
        if "id" in args:
            raise ValueError(f"{name}: id: chosen by the NCC, not by the caller")
        payload = {"id": command_id, **args}
        schemas().validate(f"cmd/{name}", payload)
        return payload

    def send(self, site: str, node: str, name: str, args: dict[str, Any], *, user: str,
             timeout_s: float) -> dict[str, Any]:
        try:
            topics = NodeTopics(site, node)
        except ValueError as e:
            raise ValueError(str(e)) from None
        command_id = str(uuid.uuid4())
        payload = self.payload(name, args, command_id=command_id)
        waiter = _Waiter(site, node)
        with self._lock:
            self._waiting[command_id] = waiter
        try:
            self._publish(topics.cmd(name), encode(payload))
            answered = waiter.done.wait(timeout_s)
        finally:
            with self._lock:
                self._waiting.pop(command_id, None)
        result = self._result(command_id, waiter.reply if answered else None)
        action = f"cmd/{name} {json.dumps(args, ensure_ascii=False, sort_keys=True)}"
        self._audit(user, action, f"{site}/{node}", _summary(result))
        return result

    @staticmethod
    def _result(command_id: str, reply: dict[str, Any] | None) -> dict[str, Any]:
        if reply is None:
            return {"id": command_id, "ok": False, "error": "timeout"}
        out: dict[str, Any] = {"id": command_id, "ok": bool(reply.get("ok"))}
        for key in ("error", "data"):
            if key in reply:
                out[key] = reply[key]
        return out

    def on_reply(self, msg: ReplyMsg) -> None:
        command_id = msg.payload.get("id")
        with self._lock:
            waiter = self._waiting.get(command_id) if isinstance(command_id, str) else None
        if waiter is None or (waiter.site, waiter.node) != (msg.site, msg.node):
            return
        waiter.reply = msg.payload
        waiter.done.set()


def _summary(result: dict[str, Any]) -> str:
    return "ok" if result["ok"] else f"error: {result.get('error', '')}"
