"""The retained reports of the link's delivery: the node's ``health`` and the site's
``queue`` snapshot, when each is due and what it says. Runs on the link thread."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from contract.payloads import encode, now_iso
from contract.topics import NodeTopics
from edge.mqtt.health import certificates, read_system
from edge.node_actions import NodeActions
from edge.queue.outbox import Outbox
from mqtt_config import certs

log = logging.getLogger(__name__)


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int | None: ...


class Reports:
    """Health every ``health_interval_s``, on request and when the backlog warning flips;
    the queue snapshot whenever it changed (unless held back)."""

    def __init__(
        self, *, topics: NodeTopics, version: str, data_dir: Path, actions: NodeActions,
        backlog_warn: int, health_interval_s: float,
        link_health: Callable[[], dict[str, Any]] | None = None,
        cert_files: Mapping[str, Path] | None = None,
    ) -> None:
        self._topics = topics
        self._version = version
        self._data_dir = data_dir
        self._actions = actions
        self._backlog_warn = backlog_warn
        self._interval_s = health_interval_s
        self._link_health = link_health
        self._cert_files = dict(cert_files or {})
        self._broker_cert: dict[str, Any] | None = None
        self.health_due = 0.0
        self._queue_dirty = True
        self._backlog_warning: bool | None = None

    def want_health(self) -> None:
        self.health_due = 0.0

    def want_queue(self) -> None:
        self._queue_dirty = True

    def broker_certificate(self, not_after: str | None) -> None:
        """The site broker's certificate expiry as seen on the TLS connection."""
        try:
            self._broker_cert = None if not_after is None else certs.status(
                "broker", certs.parse_not_after(not_after)).to_dict()
        except certs.CertError as e:
            self._broker_cert = {"name": "broker", "days_left": None, "not_after": None,
                                 "state": "error", "error": str(e)}

    def publish_due(
        self, channel: Publisher, outbox: Outbox, session: int, *, hold_queue: bool = False
    ) -> None:
        if not hold_queue:
            self._publish_queue_if_dirty(channel)
        warning = outbox.backlog() > self._backlog_warn
        flipped = self._backlog_warning is not None and warning != self._backlog_warning
        if flipped or time.monotonic() >= self.health_due:
            self._publish_health(channel, outbox, session)

    def health_payload(self, outbox: Outbox, session: int) -> dict[str, Any]:
        """The ``health`` payload now."""
        try:
            devices = dict(self._actions.health())
        except Exception as e:
            log.exception("node health failed")
            devices = {"health_error": f"{type(e).__name__}: {e}"}
        backlog = outbox.backlog()
        out = {
            **devices,
            "ts": now_iso(),
            "version": self._version,
            "session": session,
            "system": read_system(self._data_dir).to_dict(),
            "outbox": {
                "backlog": backlog,
                "acked_seq": outbox.acked_seq(),
                "last_seq": outbox.last_seq(),
                "warn_above": self._backlog_warn,
                "warning": backlog > self._backlog_warn,
            },
        }
        if self._link_health is not None:
            out["mqtt"] = self._link_health()
        found = certificates(self._cert_files) if self._cert_files else []
        if self._broker_cert is not None:
            found.append(self._broker_cert)
        if found:
            out["certificates"] = found
        return out

    def _publish_health(self, channel: Publisher, outbox: Outbox, session: int) -> None:
        payload = self.health_payload(outbox, session)
        self._backlog_warning = payload["outbox"]["warning"]
        channel.publish(self._topics.health, encode(payload), retain=True)
        self.health_due = time.monotonic() + self._interval_s

    def _publish_queue_if_dirty(self, channel: Publisher) -> None:
        if not self._queue_dirty:
            return
        self._queue_dirty = False
        try:
            snapshot = self._actions.queue_snapshot()
        except Exception:
            log.exception("queue snapshot failed")
            return
        channel.publish(self._topics.queue, encode({"ts": now_iso(), **snapshot}), retain=True)
