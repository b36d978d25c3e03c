"""The caller role: counter staff call, recall, skip and finish with their buttons."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from edge.context import NodeContext
from edge.devices.debounce import ButtonEvent, ButtonEventKind
from edge.queue.models import QueueError, StorageError, Ticket
from edge.speech import phrases

ACTIONS = ("next", "recall", "skip", "done")
T = TypeVar("T")


def channel(counter: int) -> str:
    """Each counter speaks on its own channel: a call never cuts another counter's call."""
    return f"counter-{counter}"


class Caller:
    """Handles ``next-N``, ``recall-N``, ``skip-N`` and ``done-N`` for the node's counters.

    ``confirm`` and ``refuse`` are the board's short and double beeps.
    """

    def __init__(
        self, ctx: NodeContext, confirm: Callable[[], None], refuse: Callable[[], None]
    ) -> None:
        self._ctx = ctx
        self._confirm = confirm
        self._refuse = refuse
        self._by_button = {
            c.button(a): (a, c.number) for c in ctx.config.counters for a in ACTIONS
        }
        self.buttons: frozenset[str] = frozenset(self._by_button)

    def handle(self, event: ButtonEvent) -> None:
        if event.kind is not ButtonEventKind.PRESSED or event.name not in self._by_button:
            return
        action, counter = self._by_button[event.name]
        try:
            ok = {"next": self.call_next, "recall": self.recall, "skip": self.skip,
                  "done": self.complete}[action](counter) is not None
        except (QueueError, StorageError):
            ok = False
        (self._confirm if ok else self._refuse)()

    def _store(self, counter: int, action: Callable[[], T]) -> T:
        """Run a queue action; a storage failure is spoken at the counter and re-raised."""
        try:
            result = action()
        except StorageError as e:
            self._ctx.speech.say(phrases.storage_fault_staff_sentence(), channel=channel(counter))
            self._ctx.emit("not-stored", error=e)
            self._ctx.storage_failed(e)
            raise
        self._ctx.stored()
        return result

    def call_next(self, counter: int) -> Ticket | None:
        ticket = self._store(counter, lambda: self._ctx.engine.call_next(counter))
        if ticket is None:
            self._ctx.speech.say(phrases.no_waiting_sentence(), channel=channel(counter))
        else:
            self._announce(ticket, counter, phrases.call_sentence)
            self._ctx.emit("called", number=ticket.number, counter=counter)
        self._changed()
        return ticket

    def recall(self, counter: int) -> Ticket:
        ticket = self._store(counter, lambda: self._ctx.engine.recall(counter))
        self._announce(ticket, counter, phrases.recall_sentence)
        self._ctx.emit("recalled", number=ticket.number, counter=counter)
        self._changed()
        return ticket

    def skip(self, counter: int) -> Ticket:
        ticket = self._store(counter, lambda: self._ctx.engine.skip(counter))
        self._ctx.emit("skipped", number=ticket.number, counter=counter)
        self._changed()
        return ticket

    def complete(self, counter: int) -> Ticket:
        ticket = self._store(counter, lambda: self._ctx.engine.complete(counter))
        self._ctx.emit("completed", number=ticket.number, counter=counter)
        self._changed()
        return ticket

    def transfer(self, counter: int, service: str) -> Ticket:
        ticket = self._store(counter, lambda: self._ctx.engine.transfer(counter, service))
        self._ctx.emit("transferred", number=ticket.number, service=service)
        self._changed()
        return ticket

    def _announce(
        self, ticket: Ticket, counter: int, sentence: Callable[[str, int], str]
    ) -> None:
        said = sentence(ticket.number, counter)
        self._ctx.speech.say(said, channel=channel(counter), chime=True)
        if self._ctx.cells is not None and "kiosk" not in self._ctx.config.roles:
            self._ctx.cells.show(f"{ticket.number} loket {counter}", spoken=said)

    def _changed(self) -> None:
        self._ctx.notifier.notify_event()
        self._ctx.notifier.notify_queue_changed()
