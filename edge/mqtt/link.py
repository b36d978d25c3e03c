"""The node's MQTT link: one thread owns the paho client and the outbox reader.

Other threads never touch the client; they call ``notify_event()``,
``notify_queue_changed()`` or ``notify_health_changed()``, which queue a wake-up. The
link thread publishes the status birth (with its Will), health, events from the outbox,
the site's queue snapshot, and answers commands; it reconnects with backoff.

>>> from edge.config import MqttConfig
>>> link = MqttLink(MqttConfig(host="127.0.0.1", port=1, allow_anonymous=True),
...                 site="janti", node="kiosk-1", roles=["kiosk"], version="0.1.0",
...                 outbox_path=Path("/tmp/unused.db"), actions=None)  # type: ignore
>>> link.state().status
<LinkStatus.STOPPED: 'stopped'>
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import random
import select
import ssl
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from contract import payloads
from contract.payloads import Status, encode, now_iso
from contract.schemas import Schemas
from contract.topics import NodeTopics
from edge.closing import Closing
from edge.config import MqttConfig
from edge.mqtt.commands import CommandDispatcher
from edge.mqtt.health import read_system
from edge.node_actions import NodeActions
from edge.queue.outbox import Outbox

log = logging.getLogger(__name__)

SESSION_KEY = "mqtt.session"


class LinkStatus(StrEnum):
    STOPPED = "stopped"
    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"  # no broker: waiting to retry


class Work(StrEnum):
    EVENT = "event"
    QUEUE = "queue"
    HEALTH = "health"
    STOP = "stop"


@dataclass(frozen=True)
class LinkOptions:
    """Tuning of the link; the defaults suit a puskesmas.

    ``window``: events handed to the broker and not yet PUBACKed; ``resend_after_s``: with
    events sent but no ack progress for this long while the NCC is online, re-send them.
    """

    backlog_warn: int = 1000
    window: int = 50
    batch: int = 200
    backoff_min_s: float = 0.5
    backoff_max_s: float = 30.0
    resend_after_s: float = 60.0
    client_id: str | None = None
    close_timeout_s: float = 2.0


@dataclass(frozen=True)
class LinkState:
    """What the link is doing, for the node's screen and tests."""

    status: LinkStatus
    session: int = 0
    acked_seq: int = 0
    sent_seq: int = 0
    backlog: int = 0
    ncc_online: bool | None = None
    last_error: str | None = None


def backoff_delay(attempt: int, low: float, high: float, jitter: float) -> float:
    """Seconds before reconnect ``attempt`` (1, 2, …): doubling from ``low`` up to ``high``,
    scaled by ``jitter`` in [0.5, 1].

    >>> [backoff_delay(n, 0.5, 4.0, 1.0) for n in (1, 2, 3, 4, 5)]
    [0.5, 1.0, 2.0, 4.0, 4.0]
    """
    return min(high, low * 2 ** min(attempt - 1, 30)) * jitter


def _close_quietly(client: mqtt.Client) -> None:
    """Send DISCONNECT if the socket still works, then close it."""
    try:
        client.disconnect()
        client.loop_write()
    except Exception:  # the socket is already gone
        pass
    sock = client.socket()
    if sock is not None:
        sock.close()


@dataclass(frozen=True)
class _Incoming:
    topic: str
    payload: bytes
    retained: bool = False


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
        self._config = config
        self._roles = tuple(roles)
        self._version = version
        self._outbox_path = outbox_path
        self._actions = actions
        self._opt = options or LinkOptions()
        self._schemas = schemas
        self._work: queue.SimpleQueue[Work] = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._state = LinkState(LinkStatus.STOPPED)
        self._thread: threading.Thread | None = None
        # Everything below belongs to the link thread.
        self._outbox: Outbox | None = None
        self._client: mqtt.Client | None = None
        self._online = False
        self._session = 0
        self._birth: Status | None = None
        self._attempt = 0
        self._next_attempt = 0.0
        self._incoming: deque[_Incoming] = deque()
        self._connected_now = False
        self._lost = False
        self._inflight: set[int] = set()
        self._sent = 0
        self._ack_progress_at = 0.0
        self._ncc: Status | None = None
        self._health_due = 0.0
        self._pump_needed = True
        self._queue_dirty = True
        self._backlog_warning: bool | None = None
        self._dispatcher: CommandDispatcher | None = None

    # --- other threads ------------------------------------------------------------

    def start(self) -> None:
        self._state = replace(self._state, status=LinkStatus.CONNECTING)
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

    def close(self) -> None:
        """Say goodbye (status offline), disconnect and stop the thread."""
        if self._thread is not None:
            self._hand_over(Work.STOP)
            self._thread.join(timeout=self._opt.close_timeout_s + 5.0)
            self._thread = None
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._state = replace(self._state, status=LinkStatus.STOPPED)

    def __enter__(self) -> MqttLink:
        self.start()
        return self

    def _hand_over(self, work: Work) -> None:
        self._work.put(work)
        with contextlib.suppress(OSError):  # full (a wake-up is pending) or closed
            os.write(self._wake_w, b"!")

    # --- the link thread ----------------------------------------------------------

    def _run(self) -> None:
        self._outbox = Outbox(self._outbox_path)
        self._session = int(self._outbox.meta_get(SESSION_KEY) or 0)
        self._dispatcher = CommandDispatcher(
            actions=self._actions, schemas=self._schemas or Schemas.load()
        )
        try:
            while self._step():
                pass
            self._goodbye()
        finally:
            self._outbox.close()

    def _step(self) -> bool:
        """One turn of the loop; False once asked to stop."""
        if self._client is None and time.monotonic() >= self._next_attempt:
            self._connect()
        self._wait(self._timeout())
        if not self._take_work():
            return False
        try:
            self._after_network()
        except Exception:
            log.exception("mqtt link step failed")
        self._publish_state()
        return True

    def _after_network(self) -> None:
        if self._lost:
            self._drop_client()
        if self._connected_now:
            self._connected_now = False
            self._on_online()
        while self._incoming:
            self._on_message(self._incoming.popleft())
        if self._online:
            self._maybe_resend_stalled()
            self._pump_events()
            self._publish_queue_if_dirty()
            if time.monotonic() >= self._health_due:
                self._publish_health()
            self._warn_on_backlog_change()

    def _timeout(self) -> float:
        now = time.monotonic()
        deadlines = [now + 1.0]
        if self._client is None:
            deadlines.append(self._next_attempt)
        elif self._online:
            deadlines.append(self._health_due)
        return max(0.0, min(deadlines) - now)

    def _wait(self, timeout: float) -> None:
        client = self._client
        sock = client.socket() if client is not None else None
        readers: list[Any] = [self._wake_r] + ([sock] if sock is not None else [])
        writers: list[Any] = [sock] if sock is not None and client and client.want_write() else []
        try:
            readable, writable, _ = select.select(readers, writers, [], timeout)
        except (OSError, ValueError):
            readable, writable = [], []
        if self._wake_r in readable:
            self._drain_wake()
        if client is None or sock is None:
            return
        if sock in readable:
            client.loop_read()
        if sock in writable and client.socket() is not None:
            client.loop_write()
        if client.socket() is not None:
            client.loop_misc()

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
                self._pump_needed = True
            elif work is Work.QUEUE:
                self._queue_dirty = True
            elif work is Work.HEALTH:
                self._health_due = 0.0

    # --- connecting -----------------------------------------------------------------

    def _connect(self) -> None:
        assert self._outbox is not None
        self._session += 1
        self._outbox.meta_set(SESSION_KEY, str(self._session))
        self._birth = payloads.status(
            online=True, session=self._session, ts=now_iso(), version=self._version,
            roles=self._roles,
        )
        client = self._new_client()
        self._state = replace(self._state, status=LinkStatus.CONNECTING, session=self._session)
        try:
            client.connect(self._config.host, self._config.port, self._config.keepalive)
        except (OSError, ssl.SSLError) as e:
            self._fail(f"connect to {self._config.host}:{self._config.port}: {e}")
            return
        self._client = client

    def _new_client(self) -> mqtt.Client:
        assert self._birth is not None
        client_id = self._opt.client_id or f"brexit-{self.topics.site}-{self.topics.node}"
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True,
            protocol=MQTTProtocolVersion.MQTTv311, reconnect_on_failure=False,
        )
        cfg = self._config
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls_ca is not None:
            client.tls_set(
                ca_certs=str(cfg.tls_ca),
                certfile=str(cfg.tls_cert) if cfg.tls_cert else None,
                keyfile=str(cfg.tls_key) if cfg.tls_key else None,
            )
        client.max_inflight_messages_set(self._opt.window)
        client.will_set(self.topics.status, encode(self._birth.will().to_dict()), 1, True)
        client.on_connect = self._cb_connect
        client.on_disconnect = self._cb_disconnect
        client.on_message = self._cb_message
        client.on_publish = self._cb_publish
        return client

    def _fail(self, error: str) -> None:
        self._attempt += 1
        delay = backoff_delay(
            self._attempt, self._opt.backoff_min_s, self._opt.backoff_max_s,
            random.uniform(0.5, 1.0),
        )
        self._next_attempt = time.monotonic() + delay
        self._state = replace(self._state, status=LinkStatus.OFFLINE, last_error=error)
        log.info("mqtt: %s; retry in %.1f s", error, delay)

    def _drop_client(self) -> None:
        self._lost = False
        self._online = False
        client, self._client = self._client, None
        if client is not None:
            client.on_disconnect = None
            _close_quietly(client)
        self._fail(self._state.last_error or "connection lost")

    # paho callbacks: they run inside loop_read/loop_misc on this thread; they only record.

    def _cb_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        if reason.is_failure:
            self._state = replace(self._state, last_error=f"broker refused: {reason}")
            self._lost = True
        else:
            self._connected_now = True

    def _cb_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        if not self._state.last_error or self._online:
            self._state = replace(self._state, last_error=f"disconnected: {reason}")
        self._lost = True

    def _cb_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._incoming.append(
            _Incoming(message.topic, bytes(message.payload), bool(message.retain))
        )

    def _cb_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode, props: Any
    ) -> None:
        if mid in self._inflight:
            self._inflight.discard(mid)
            self._pump_needed = True

    # --- online -----------------------------------------------------------------------

    def _on_online(self) -> None:
        assert self._client is not None and self._birth is not None
        self._online = True
        self._attempt = 0
        self._ncc = None
        t = self.topics
        # Brokers handle one connection's packets in order: once the birth is out, commands
        # reach us. Our own status is subscribed after the birth, so its retained copy is
        # the birth itself, not the previous session's Will.
        self._client.subscribe([(t.cmd_filter, 1), (t.ack, 1), (t.ncc_status, 1)])
        self._publish(t.status, self._birth.to_dict(), retain=True)
        self._client.subscribe(t.status, 1)
        self._state = replace(self._state, status=LinkStatus.ONLINE, last_error=None)
        self._queue_dirty = True
        self._health_due = 0.0
        self._resend("connected")

    def _publish(self, topic: str, payload: dict[str, Any], *, retain: bool = False) -> int | None:
        assert self._client is not None
        info = self._client.publish(topic, encode(payload), qos=1, retain=retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return None
        return info.mid

    def _on_message(self, msg: _Incoming) -> None:
        t = self.topics
        if msg.topic == t.ack:
            self._on_ack(msg.payload)
        elif msg.topic == t.ncc_status:
            self._on_ncc_status(msg)
        elif msg.topic == t.status:
            self._on_own_status(msg.payload)
        else:
            name = t.command_name(msg.topic)
            if name is not None:
                self._on_command(name, msg.payload)

    def _on_command(self, name: str, raw: bytes) -> None:
        assert self._dispatcher is not None
        answer = self._dispatcher.handle(name, raw)
        if self._online:
            self._publish(self.topics.reply, answer.to_dict())
        if answer.ok:
            self._queue_dirty = True
            self._pump_needed = True

    def _on_ack(self, raw: bytes) -> None:
        assert self._outbox is not None
        parsed = payloads.parse_ack(raw)
        if parsed is None:
            log.warning("mqtt: ignoring malformed ack %r", raw[:100])
            return
        before = self._outbox.acked_seq()
        self._outbox.ack(parsed[1], epoch=parsed[0])
        acked = self._outbox.acked_seq()
        if acked > before:
            self._ack_progress_at = time.monotonic()
            self._sent = max(self._sent, acked)

    def _on_ncc_status(self, msg: _Incoming) -> None:
        status = Status.parse(msg.payload)
        if status is None:
            return
        previous, self._ncc = self._ncc, status
        if previous is None and msg.retained:
            return  # the NCC's state as we subscribed: connecting already re-sent
        came_online = status.online and (
            previous is None or not previous.online or status.session != previous.session
        )
        if came_online:
            self._resend("ncc online")

    def _on_own_status(self, raw: bytes) -> None:
        status = Status.parse(raw)
        if status is None or self._birth is None:
            return
        if status.is_stale_after(self._birth):
            log.info("mqtt: stale status of session %d; re-publishing birth", status.session)
            self._publish(self.topics.status, self._birth.to_dict(), retain=True)
        elif status.session > self._birth.session:
            log.warning("mqtt: another client publishes as this node (session %d)", status.session)

    # --- events -----------------------------------------------------------------------

    def _resend(self, why: str) -> None:
        assert self._outbox is not None
        self._sent = self._outbox.acked_seq()
        self._inflight.clear()
        self._ack_progress_at = time.monotonic()
        self._pump_needed = True
        log.debug("mqtt: re-sending from seq %d (%s)", self._sent + 1, why)

    def _maybe_resend_stalled(self) -> None:
        assert self._outbox is not None
        if not (self._ncc and self._ncc.online) or self._sent <= self._outbox.acked_seq():
            return
        if time.monotonic() - self._ack_progress_at > self._opt.resend_after_s:
            self._resend("no ack progress")

    def _pump_events(self) -> None:
        assert self._outbox is not None
        while self._pump_needed and self._online:
            room = self._opt.window - len(self._inflight)
            if room <= 0:
                return
            batch = self._outbox.unacked(room, after=self._sent)
            if not batch:
                self._pump_needed = False
                return
            for event in batch[:room]:
                mid = self._publish(self.topics.event, event.envelope(*self._ids()))
                if mid is None:
                    return
                self._inflight.add(mid)
                self._sent = event.seq

    def _ids(self) -> tuple[str, str]:
        return self.topics.site, self.topics.node

    # --- health and queue -------------------------------------------------------------

    def health_payload(self) -> dict[str, Any]:
        """The ``health`` payload now (link thread: it reads the outbox)."""
        assert self._outbox is not None
        try:
            devices = dict(self._actions.health())
        except Exception as e:
            log.exception("node health failed")
            devices = {"health_error": f"{type(e).__name__}: {e}"}
        backlog = self._outbox.backlog()
        return {
            **devices,
            "ts": now_iso(),
            "version": self._version,
            "session": self._session,
            "system": read_system(self._outbox_path.parent).to_dict(),
            "outbox": {
                "backlog": backlog,
                "acked_seq": self._outbox.acked_seq(),
                "last_seq": self._outbox.last_seq(),
                "warn_above": self._opt.backlog_warn,
                "warning": backlog > self._opt.backlog_warn,
            },
        }

    def _publish_health(self) -> None:
        payload = self.health_payload()
        self._backlog_warning = payload["outbox"]["warning"]
        self._publish(self.topics.health, payload, retain=True)
        self._health_due = time.monotonic() + self._config.health_interval_s

    def _warn_on_backlog_change(self) -> None:
        assert self._outbox is not None
        warning = self._outbox.backlog() > self._opt.backlog_warn
        if self._backlog_warning is not None and warning != self._backlog_warning:
            self._health_due = 0.0
            self._publish_health()

    def _publish_queue_if_dirty(self) -> None:
        if not self._queue_dirty:
            return
        self._queue_dirty = False
        try:
            snapshot = self._actions.queue_snapshot()
        except Exception:
            log.exception("queue snapshot failed")
            return
        self._publish(self.topics.queue, {"ts": now_iso(), **snapshot}, retain=True)

    def _publish_state(self) -> None:
        box = self._outbox
        if box is None:
            return
        self._state = replace(
            self._state,
            session=self._session,
            acked_seq=box.acked_seq(),
            sent_seq=self._sent,
            backlog=box.backlog(),
            ncc_online=None if self._ncc is None else self._ncc.online,
        )

    # --- goodbye ----------------------------------------------------------------------

    def _goodbye(self) -> None:
        """A clean disconnect sends no Will, so say offline ourselves, then disconnect."""
        client = self._client
        if client is None or not self._online or self._birth is None:
            return
        mid = self._publish(self.topics.status, self._birth.will().to_dict(), retain=True)
        deadline = time.monotonic() + self._opt.close_timeout_s
        self._inflight = {mid} if mid is not None else set()
        while self._inflight and time.monotonic() < deadline and self._client is not None:
            self._wait(0.05)
            if self._lost:
                break
        client.disconnect()
        self._wait(0.05)
