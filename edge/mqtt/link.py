"""The node's MQTT link: one thread owns the paho client and the outbox reader.

Other threads never touch the client; they call ``notify_event()``,
``notify_queue_changed()`` or ``notify_health_changed()``, which queue a wake-up. The link
thread runs the connection loop (``edge.mqtt.transport``) and the delivery policy
(``edge.mqtt.delivery``): status birth and Will, health, events from the outbox, the site's
queue snapshot, commands. It never dies: any failure (no broker, refused login, a missing
CA file, a full disk) is logged once per change, shown in ``state()`` and in health
(``mqtt``), and retried with backoff.

Life cycle: ``start()`` once; ``close()`` is idempotent; after ``close()``, ``start()`` and
``notify_*()`` raise ``LinkClosed``.

>>> from edge.config import MqttConfig
>>> link = MqttLink(MqttConfig(host="127.0.0.1", port=1, allow_anonymous=True),
...                 site="janti", node="kiosk-1", roles=["kiosk"], version="0.1.0",
...                 outbox_path=Path("/tmp/unused.db"), actions=None)  # type: ignore
>>> link.state().status
<LinkStatus.STOPPED: 'stopped'>
>>> link.close(); link.close()
>>> link.notify_event()  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
...
edge.mqtt.link.LinkClosed: the MQTT link is closed
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from contract.payloads import now_iso
from contract.schemas import Schemas
from contract.topics import NodeTopics
from edge.closing import Closing
from edge.config import MqttConfig
from edge.mqtt.delivery import Delivery, Policy
from edge.mqtt.transport import (
    Backoff,
    Connected,
    Incoming,
    Lost,
    Published,
    Transport,
    backoff_delay,
    describe,
)
from edge.node_actions import NodeActions

log = logging.getLogger(__name__)

__all__ = ["LinkClosed", "LinkOptions", "LinkState", "LinkStatus", "MqttLink", "backoff_delay"]


class LinkClosed(RuntimeError):
    """The link was closed; it cannot be started or notified again."""


class LinkStatus(StrEnum):
    STOPPED = "stopped"
    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"  # no broker, or refused: waiting to retry


class Work(StrEnum):
    EVENT = "event"
    QUEUE = "queue"
    HEALTH = "health"
    STOP = "stop"


@dataclass(frozen=True)
class LinkOptions:
    """Tuning of the link; the defaults suit a puskesmas.

    ``window``: events handed to the broker and not yet PUBACKed; ``resend_after_s``: with
    events sent but no ack progress for this long while the NCC is online, re-send them;
    ``tick_s``: the longest the loop sleeps when nothing happens.
    """

    backlog_warn: int = 1000
    window: int = 50
    backoff_min_s: float = 0.5
    backoff_max_s: float = 30.0
    resend_after_s: float = 60.0
    client_id: str | None = None
    close_timeout_s: float = 2.0
    tick_s: float = 1.0


@dataclass(frozen=True)
class LinkState:
    """What the link is doing, for health, the node's screen and tests.

    ``since``: when ``status`` last changed (ISO 8601)."""

    status: LinkStatus
    session: int = 0
    acked_seq: int = 0
    sent_seq: int = 0
    backlog: int = 0
    ncc_online: bool | None = None
    last_error: str | None = None
    since: str = ""

    def to_health(self) -> dict[str, Any]:
        """The ``mqtt`` field of the node's health."""
        return {"state": self.status.value, "last_error": self.last_error,
                "since": self.since, "backlog": self.backlog, "acked_seq": self.acked_seq}


class MqttLink(Closing):
    """The node's connection to its site broker (see the module docstring)."""

    def __init__(
        self,
        config: MqttConfig,
        *,
        site: str,
        node: str,
        roles: Sequence[str],
        version: str,
        outbox_path: Path,
        actions: NodeActions,
        options: LinkOptions | None = None,
        schemas: Schemas | None = None,
    ) -> None:
        if config.username is None and not config.allow_anonymous:
            raise ValueError("mqtt: a username is required unless allow_anonymous is set")
        self.topics = NodeTopics(site, node)
        self._opt = opt = options or LinkOptions()
        self._where = f"{config.host}:{config.port}"
        self._transport = Transport(
            config, client_id=opt.client_id or f"brexit-{site}-{node}", window=opt.window,
            backoff=Backoff(opt.backoff_min_s, opt.backoff_max_s),
        )
        self._delivery = Delivery(
            topics=self.topics, roles=roles, version=version, outbox_path=outbox_path,
            actions=actions, schemas=schemas, link_health=self.link_health,
            cert_files={name: path for name, path in (("ca", config.tls_ca),
                        ("client", config.tls_cert)) if path is not None},
            policy=Policy(backlog_warn=opt.backlog_warn, window=opt.window,
                          resend_after_s=opt.resend_after_s,
                          health_interval_s=config.health_interval_s),
        )
        self._work: queue.SimpleQueue[Work] = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._state = LinkState(LinkStatus.STOPPED, since=now_iso())
        self._thread: threading.Thread | None = None
        self._closed = False
        self._retry_open_at = 0.0
        self._open_attempts = 0

    # --- other threads ------------------------------------------------------------

    def start(self) -> None:
        self._check_open()
        if self._thread is not None:
            return
        self._set(LinkStatus.CONNECTING)
        self._thread = threading.Thread(target=self._run, name="mqtt-link", daemon=True)
        self._thread.start()

    def notify_event(self) -> None:
        """New events were committed to the outbox."""
        self._hand_over(Work.EVENT)

    def notify_queue_changed(self) -> None:
        self._hand_over(Work.QUEUE)

    def notify_health_changed(self) -> None:
        self._hand_over(Work.HEALTH)

    def publish_health_now(self) -> None:
        self._hand_over(Work.HEALTH)

    def state(self) -> LinkState:
        return self._state

    def link_health(self) -> dict[str, Any]:
        """The ``mqtt`` field of health: state, last_error, since, backlog, acked_seq."""
        return self._state.to_health()

    def close(self) -> None:
        """Say goodbye (status offline), disconnect and stop the thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._work.put(Work.STOP)
            self._wake()
            self._thread.join(timeout=self._opt.close_timeout_s + 5.0)
            self._thread = None
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._set(LinkStatus.STOPPED)

    def __enter__(self) -> MqttLink:
        self.start()
        return self

    def _check_open(self) -> None:
        if self._closed:
            raise LinkClosed("the MQTT link is closed")

    def _hand_over(self, work: Work) -> None:
        self._check_open()
        self._work.put(work)
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # full (a wake-up is pending)
            os.write(self._wake_w, b"!")

    # --- the link thread ----------------------------------------------------------

    def _run(self) -> None:
        try:
            while self._step():
                pass
            self._goodbye()
        finally:
            self._delivery.close()

    def _step(self) -> bool:
        """One turn of the loop; False once asked to stop. Never raises."""
        try:
            self._maybe_connect()
        except Exception as e:
            self._failed(f"connect: {describe(e)}")
        if self._transport.wait(self._timeout(), self._wake_r):
            self._drain_wake()
        if not self._take_work():
            return False
        try:
            self._after_network()
        except Exception as e:  # a full disk, a damaged database, a bug: retry later
            log.debug("mqtt link step failed", exc_info=True)
            self._failed(describe(e))
        self._update_state()
        return True

    def _maybe_connect(self) -> None:
        if self._delivery.is_open and self._delivery.stale:
            # a damaged database was moved aside: reconnect on the fresh one (new epoch, birth)
            log.warning("mqtt: the queue database was replaced; reopening it")
            self._transport.fail("the queue database was replaced")
            self._delivery.close()
        if not self._delivery.is_open:
            if time.monotonic() < self._retry_open_at:
                return
            self._delivery.open()
            self._open_attempts = 0
        if self._transport.due():
            self._set(LinkStatus.CONNECTING)
            self._transport.connect(self._delivery.next_will())

    def _failed(self, error: str) -> None:
        """Something failed outside the transport: drop the connection and back off."""
        if self._delivery.is_open:
            self._transport.fail(error)
        else:
            self._open_attempts += 1
            delay = backoff_delay(self._open_attempts, self._opt.backoff_min_s,
                                  self._opt.backoff_max_s, 1.0)
            self._retry_open_at = time.monotonic() + delay
            self._offline(f"cannot open the outbox: {error}")
        self._handle_transport_events()

    def _after_network(self) -> None:
        self._handle_transport_events()
        if self._delivery.online:
            self._delivery.turn()

    def _handle_transport_events(self) -> None:
        for event in self._transport.events():
            if isinstance(event, Connected):
                self._delivery.connected(self._transport, broker_not_after=event.peer_not_after)
                self._set(LinkStatus.ONLINE, None)
            elif isinstance(event, Lost):
                self._delivery.lost()
                self._offline(event.error)
            elif isinstance(event, Incoming):
                self._delivery.received(event)
            elif isinstance(event, Published):
                self._delivery.published(event.mid)

    def _timeout(self) -> float:
        now = time.monotonic()
        deadlines = [now + self._opt.tick_s]
        for due in (self._transport.next_attempt(), self._delivery.health_due()):
            if due is not None:
                deadlines.append(due)
        return max(0.0, min(deadlines) - now)

    def _drain_wake(self) -> None:
        try:
            while os.read(self._wake_r, 4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _take_work(self) -> bool:
        while True:
            try:
                work = self._work.get_nowait()
            except queue.Empty:
                return True
            if work is Work.STOP:
                return False
            if work is Work.EVENT:
                self._delivery.want_events()
            elif work is Work.QUEUE:
                self._delivery.want_queue()
            elif work is Work.HEALTH:
                self._delivery.want_health()

    # --- state, and one log line per change -----------------------------------------

    def _offline(self, error: str) -> None:
        self._set(LinkStatus.OFFLINE, error)

    def _set(self, status: LinkStatus, error: str | None = "") -> None:
        """Change status (and ``last_error`` unless ""); log when either changed."""
        old = self._state
        last_error = old.last_error if error == "" else error
        if status is old.status and last_error == old.last_error:
            return
        if status is LinkStatus.CONNECTING and old.status is LinkStatus.OFFLINE:
            return  # a retry: stay offline with the reason until something changes
        since = old.since if status is old.status else now_iso()
        self._state = replace(old, status=status, last_error=last_error, since=since)
        if status is LinkStatus.OFFLINE and last_error != old.last_error:
            log.warning("mqtt: %s/%s at %s offline: %s; retrying", self.topics.site,
                        self.topics.node, self._where, last_error)
        elif status is LinkStatus.ONLINE:
            log.warning("mqtt: %s/%s at %s online", self.topics.site, self.topics.node,
                        self._where)

    def _update_state(self) -> None:
        figures = self._delivery.figures()
        if figures is None:
            return
        self._state = replace(
            self._state, session=figures.session, acked_seq=figures.acked_seq,
            sent_seq=figures.sent_seq, backlog=figures.backlog, ncc_online=figures.ncc_online,
        )

    # --- goodbye ----------------------------------------------------------------------

    def _goodbye(self) -> None:
        """A clean disconnect sends no Will, so say offline ourselves, then disconnect."""
        if not self._transport.connected:
            self._transport.disconnect()
            return
        try:
            mid = self._delivery.goodbye()
        except Exception as e:
            log.warning("mqtt: goodbye failed: %s", describe(e))
            mid = None
        deadline = time.monotonic() + self._opt.close_timeout_s
        while mid is not None and time.monotonic() < deadline and self._transport.connected:
            self._transport.wait(0.05, self._wake_r)
            if any(isinstance(e, Published) and e.mid == mid for e in self._transport.events()):
                break
        self._transport.disconnect()
