"""The delivery policy of the node's MQTT link: what it does with a connection.

Status (birth and Will), events from the outbox (window, re-sends, acks), commands and
their replies, health, and the site's queue snapshot. It never touches sockets: it asks a
``Channel`` (the transport) to publish and subscribe, and is told what arrived. Runs on
the link thread only; ``edge.mqtt.link`` drives it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from contract import payloads
from contract.payloads import Status, encode, now_iso
from contract.schemas import Schemas
from contract.topics import NodeTopics
from edge.mqtt.command_log import CommandLog
from edge.mqtt.commands import CommandDispatcher
from edge.mqtt.pump import EventPump
from edge.mqtt.reports import Reports
from edge.mqtt.site_queue import NumberCarry
from edge.mqtt.transport import Incoming, Will
from edge.node_actions import NodeActions
from edge.queue.outbox import Outbox

log = logging.getLogger(__name__)

SESSION_KEY = "mqtt.session"
CARRY_WAIT_S = 10.0  # longest wait for the own birth's echo before publishing the queue


class Channel(Protocol):
    """What delivery needs of a connection (``edge.mqtt.transport.Transport``)."""

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int | None: ...

    def subscribe(self, topics: list[tuple[str, int]]) -> None: ...

    def unsubscribe(self, topic: str) -> None: ...


@dataclass(frozen=True)
class Policy:
    """Tuning of delivery; ``LinkOptions`` fills it."""

    backlog_warn: int = 1000
    window: int = 50
    resend_after_s: float = 60.0
    health_interval_s: float = 30.0


@dataclass(frozen=True)
class Figures:
    """Numbers for the link's state."""

    session: int
    acked_seq: int
    sent_seq: int
    backlog: int
    ncc_online: bool | None


class Delivery:
    """The policy (see the module docstring). ``open()`` before use, on the link thread."""

    def __init__(
        self, *, topics: NodeTopics, roles: Sequence[str], version: str, outbox_path: Path,
        actions: NodeActions, policy: Policy, schemas: Schemas | None = None,
        link_health: Callable[[], dict[str, Any]] | None = None,
        cert_files: Mapping[str, Path] | None = None,
    ) -> None:
        self.topics = topics
        self._roles = tuple(roles)
        self._version = version
        self._outbox_path = outbox_path
        self._actions = actions
        self._policy = policy
        self._schemas = schemas
        self._reports = Reports(
            topics=topics, version=version, data_dir=outbox_path.parent, actions=actions,
            backlog_warn=policy.backlog_warn, health_interval_s=policy.health_interval_s,
            link_health=link_health, cert_files=cert_files,
        )
        self._outbox: Outbox | None = None
        self._commands: CommandLog | None = None
        self._dispatcher: CommandDispatcher | None = None
        self._pump: EventPump | None = None
        self._carry: NumberCarry | None = None
        self._session = 0
        self._birth: Status | None = None
        self._channel: Channel | None = None
        self._ncc: Status | None = None
        self._carry_until = 0.0

    # --- resources ----------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._pump is not None

    def open(self) -> None:
        """Open the outbox and the command log (raises if the database cannot be read)."""
        if self.is_open:
            return
        outbox = Outbox(self._outbox_path)
        try:
            self._commands = CommandLog(self._outbox_path)
        except BaseException:
            outbox.close()
            raise
        self._outbox = outbox
        # never lower: a fresh database (a damaged one moved aside) keeps sessions rising
        self._session = max(self._session, int(outbox.meta_get(SESSION_KEY) or 0))
        self._dispatcher = CommandDispatcher(
            actions=self._actions, schemas=self._schemas or Schemas.load(), log=self._commands
        )
        self._carry = NumberCarry(outbox, self._actions, self.topics.queue)
        self._pump = EventPump(outbox, self.topics, self._policy.window)

    @property
    def stale(self) -> bool:
        """Open on a database file that is no longer at its path (see ``Outbox.moved``)."""
        return self._outbox is not None and self._outbox.moved()

    def close(self) -> None:
        for resource in (self._outbox, self._commands):
            if resource is not None:
                resource.close()
        self._outbox = self._commands = None
        self._pump = None

    # --- connection life ----------------------------------------------------------

    def next_will(self) -> Will:
        """A new session for the next connection attempt, and its Will.

        The session is stored so it rises across restarts too; when the database cannot
        store it (a full disk) the link still connects, with the session in memory."""
        assert self._outbox is not None
        self._session += 1
        try:
            self._outbox.meta_set(SESSION_KEY, str(self._session))
        except Exception as e:
            log.warning("mqtt: cannot store session %d: %s", self._session, e)
        self._birth = payloads.status(
            online=True, session=self._session, ts=now_iso(), version=self._version,
            roles=self._roles, epoch=self._outbox.epoch,
        )
        return Will(self.topics.status, encode(self._birth.will().to_dict()))

    def connected(self, channel: Channel, *, broker_not_after: str | None = None) -> None:
        assert self._birth is not None and self._pump is not None and self._carry is not None
        self._channel = channel
        self._reports.broker_certificate(broker_not_after)
        self._ncc = None
        t = self.topics
        # Brokers handle one connection's packets in order: once the birth is out, commands
        # reach us. Our own status is subscribed after the birth, so its retained copy is
        # the birth itself, not the previous session's Will; it also arrives after any
        # retained queue snapshot (subscribed before it), which ``NumberCarry`` relies on.
        wanted = [(t.cmd_filter, 1), (t.ack, 1), (t.ncc_status, 1)]
        if self._carry.begin():
            wanted.append((t.queue, 1))
        channel.subscribe(wanted)
        self._publish(t.status, self._birth.to_dict(), retain=True)
        channel.subscribe([(t.status, 1)])
        self._reports.want_queue()
        self._reports.want_health()
        self._carry_until = time.monotonic() + CARRY_WAIT_S
        self._pump.resend("connected")

    def lost(self) -> None:
        self._channel = None

    @property
    def online(self) -> bool:
        return self._channel is not None

    # --- what arrives ------------------------------------------------------------------

    def received(self, msg: Incoming) -> None:
        assert self._pump is not None and self._carry is not None
        t = self.topics
        if msg.topic == t.ack:
            self._pump.ack(msg.payload)
        elif msg.topic == t.ncc_status:
            self._on_ncc_status(msg)
        elif msg.topic == t.status:
            self._on_own_status(msg.payload)
        elif msg.topic == t.queue:
            self._carry_from(msg.payload)
        else:
            name = t.command_name(msg.topic)
            if name is not None:
                self._on_command(name, msg.payload, msg.retained)

    def published(self, mid: int) -> None:
        assert self._pump is not None
        self._pump.published(mid)

    def _on_command(self, name: str, raw: bytes, retained: bool) -> None:
        assert self._dispatcher is not None and self._pump is not None
        answer = self._dispatcher.handle(name, raw, retained=retained)
        if retained:
            log.warning("mqtt: retained command %s not run (ask the sender to clear it)", name)
        self._publish(self.topics.reply, answer.to_dict())
        if answer.ok:
            self._reports.want_queue()
            self._pump.needed = True

    def _on_ncc_status(self, msg: Incoming) -> None:
        assert self._pump is not None
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
            self._pump.resend("ncc online")

    def _on_own_status(self, raw: bytes) -> None:
        self._carry_done()  # our birth came back: any retained queue snapshot came before
        status = Status.parse(raw)
        if status is None or self._birth is None:
            return
        if status.is_stale_after(self._birth):
            log.info("mqtt: stale status of session %d; re-publishing birth", status.session)
            self._publish(self.topics.status, self._birth.to_dict(), retain=True)
        elif status.session > self._birth.session:
            log.warning("mqtt: another client publishes as this node (session %d)", status.session)

    def _carry_from(self, raw: bytes) -> None:
        assert self._carry is not None
        if self._carry.pending:
            self._carry.take(raw)
            self._carry_done()

    def _carry_done(self) -> None:
        """The site's snapshot was read (or there is none): stop listening, publish ours."""
        assert self._carry is not None
        if not self._carry.pending:
            return
        self._carry.finish()
        if self._channel is not None:
            self._channel.unsubscribe(self.topics.queue)
        self._reports.want_queue()

    # --- every turn of the loop ---------------------------------------------------

    def want_events(self) -> None:
        if self._pump is not None:
            self._pump.needed = True

    def want_queue(self) -> None:
        self._reports.want_queue()

    def want_health(self) -> None:
        self._reports.want_health()

    def health_due(self) -> float | None:
        return self._reports.health_due if self.online else None

    def turn(self) -> None:
        """Publish what is due (online only)."""
        assert self._pump is not None and self._channel is not None
        ncc_up = self._ncc is not None and self._ncc.online
        if ncc_up and self._pump.stalled(self._policy.resend_after_s):
            self._pump.resend("no ack progress")
        if self._carry is not None and self._carry.pending and (
                time.monotonic() > self._carry_until):
            log.warning("mqtt: no echo of the birth; the site's queue snapshot was not read")
            self._carry_done()
        self._pump.pump(self._channel)
        assert self._outbox is not None and self._carry is not None
        self._reports.publish_due(self._channel, self._outbox, self._session,
                                  hold_queue=self._carry.pending)

    def figures(self) -> Figures | None:
        box, pump = self._outbox, self._pump
        if box is None or pump is None:
            return None
        return Figures(self._session, box.acked_seq(), pump.sent, box.backlog(),
                       None if self._ncc is None else self._ncc.online)

    # --- health and queue -------------------------------------------------------------

    def health_payload(self) -> dict[str, Any]:
        """The ``health`` payload now (link thread: it reads the outbox)."""
        assert self._outbox is not None
        return self._reports.health_payload(self._outbox, self._session)

    def _publish(self, topic: str, payload: dict[str, Any], *, retain: bool = False) -> int | None:
        if self._channel is None:
            return None
        return self._channel.publish(topic, encode(payload), retain=retain)

    # --- goodbye ----------------------------------------------------------------------

    def goodbye(self) -> int | None:
        """Publish the offline status ourselves (a clean DISCONNECT sends no Will)."""
        if self._birth is None or not self.online:
            return None
        return self._publish(self.topics.status, self._birth.will().to_dict(), retain=True)
