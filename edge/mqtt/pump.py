"""The events part of the link's delivery: the outbox's events in seq order, at most
``window`` not yet PUBACKed, re-sent from the last ack on request; the NCC's acks applied.
Runs on the link thread."""

from __future__ import annotations

import logging
import time
from typing import Protocol

from contract import payloads
from contract.payloads import encode
from contract.topics import NodeTopics
from edge.queue.outbox import Outbox

log = logging.getLogger(__name__)


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int | None: ...


class EventPump:
    """Events from the outbox, in seq order, at most ``window`` not yet PUBACKed; re-sends
    everything unacked on request; applies the NCC's acks."""

    def __init__(self, outbox: Outbox, topics: NodeTopics, window: int) -> None:
        self._outbox = outbox
        self._topics = topics
        self._window = window
        self._inflight: set[int] = set()
        self.sent = 0
        self.ack_progress_at = time.monotonic()
        self.needed = True
        self._early: tuple[str | None, int] | None = None

    def resend(self, why: str) -> None:
        self.sent = self._outbox.acked_seq()
        self._inflight.clear()
        self.ack_progress_at = time.monotonic()
        self.needed = True
        log.debug("mqtt: re-sending from seq %d (%s)", self.sent + 1, why)

    def stalled(self, after_s: float) -> bool:
        """Events are out, the ack has not moved for ``after_s``."""
        waiting = self.sent > self._outbox.acked_seq()
        return waiting and time.monotonic() - self.ack_progress_at > after_s

    def pump(self, channel: Publisher) -> None:
        site, node = self._topics.site, self._topics.node
        while self.needed:
            room = self._window - len(self._inflight)
            if room <= 0:
                return
            batch = self._outbox.unacked(room, after=self.sent)
            if not batch:
                self.needed = False
                return
            for event in batch[:room]:
                mid = channel.publish(self._topics.event, encode(event.envelope(site, node)))
                if mid is None:
                    return
                self._inflight.add(mid)
                self.sent = event.seq
            self._apply_early_ack()

    def published(self, mid: int) -> None:
        if mid in self._inflight:
            self._inflight.discard(mid)
            self.needed = True

    def ack(self, raw: bytes) -> None:
        parsed = payloads.parse_ack(raw)
        if parsed is None:
            log.warning("mqtt: ignoring malformed ack %r", raw[:100])
            return
        epoch, seq = parsed
        if epoch == self._outbox.epoch and seq > self.sent:
            # Ours, but above what this process has sent yet (the retained ack arrives
            # before the re-send after a restart): apply it once that much is out.
            self._early = (epoch, seq)
            return
        self._apply(epoch, seq, raw)

    def _apply(self, epoch: str | None, seq: int, raw: bytes) -> None:
        before = self._outbox.acked_seq()
        try:
            applied = self._outbox.ack(seq, epoch=epoch)
        except Exception as e:  # a full disk: keep the events, the NCC acks again
            log.warning("mqtt: cannot store ack %d: %s", seq, e)
            return
        if not applied:
            log.warning("mqtt: ignoring ack %r: another epoch (this database is %s) or above "
                        "what was sent", raw[:100], self._outbox.epoch)
            return
        acked = self._outbox.acked_seq()
        if acked > before:
            self.ack_progress_at = time.monotonic()
            self.sent = max(self.sent, acked)

    def _apply_early_ack(self) -> None:
        if self._early is not None and self.sent >= self._early[1]:
            epoch, seq = self._early
            self._early = None
            self._apply(epoch, seq, b"(retained)")
