"""What the roles (kiosk, caller) share: the queue, the speech worker, the outputs."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from edge.config import NodeConfig
from edge.devices.state import DeviceState
from edge.devices.worker import OutputWorker, WorkerClosed
from edge.queue.engine import QueueEngine
from edge.queue.models import StorageError, Ticket
from edge.speech.worker import SpeechWorker
from edge.ticket import TicketView


class Notifier(Protocol):
    """Told when there is something new to publish (the MQTT link implements it)."""

    def notify_event(self) -> None: ...

    def notify_queue_changed(self) -> None: ...

    def notify_health_changed(self) -> None: ...

    def link_health(self) -> dict[str, Any] | None:
        """The link's part of health (``mqtt``), None without a link."""
        ...


class StorageWatch(Protocol):
    """Told how the queue database's writes go (the node's ``StorageGuard``)."""

    def failed(self, error: StorageError) -> None: ...

    def succeeded(self) -> None: ...

    def record(self, type_: str, data: dict[str, object]) -> bool: ...


class CellsDisplay(Protocol):
    """A row of refreshable Braille cells."""

    def show(self, text: str, *, spoken: str = "") -> None: ...

    @property
    def spoken(self) -> str: ...

    def state(self) -> DeviceState: ...


class Offline:
    """The notifier of a node with no broker: events wait in the outbox."""

    def notify_event(self) -> None:
        return None

    def notify_queue_changed(self) -> None:
        return None

    def notify_health_changed(self) -> None:
        return None

    def link_health(self) -> dict[str, Any] | None:
        return None


Listener = Callable[[str, dict[str, object]], None]


@dataclass
class NodeContext:
    """The node's shared parts, handed to each role."""

    config: NodeConfig
    engine: QueueEngine
    speech: SpeechWorker
    embosser: OutputWorker | None = None
    printer: OutputWorker | None = None
    cells: CellsDisplay | None = None
    notifier: Notifier = field(default_factory=Offline)
    storage: StorageWatch | None = None
    listeners: list[Listener] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def emit(self, what: str, **data: object) -> None:
        """Tell listeners (console, benchmarks, tests) what just happened."""
        for listener in self.listeners:
            listener(what, data)

    def stored(self) -> None:
        """A queue action just committed."""
        if self.storage is not None:
            self.storage.succeeded()

    def storage_failed(self, error: StorageError) -> None:
        """A queue action could not be stored (nothing of it happened)."""
        if self.storage is not None:
            self.storage.failed(error)

    def record(self, type_: str, data: dict[str, object]) -> bool:
        """Store an event; with a storage guard, a full disk keeps it until it can be."""
        if self.storage is not None:
            return self.storage.record(type_, data)
        self.engine.record(type_, dict(data))
        return True

    def view(self, ticket: Ticket, ahead: int) -> TicketView:
        service = self.config.service(ticket.service)
        issued = datetime.fromisoformat(ticket.issued_at).astimezone(
            ZoneInfo(self.config.timezone)
        )
        return TicketView(
            number=ticket.number,
            service_code=ticket.service,
            service_name=service.name,
            issued_at=issued,
            ahead=ahead,
            site_name=self.config.site_name,
            assisted=ticket.assisted,
            service_spoken=service.spoken_name,
        )

    def output_ticket(self, view: TicketView) -> None:
        """Hand the ticket to the embosser and the printer; never waits for them.

        A closed worker refuses its job and reports itself offline (its ``on_state``: the
        patient hears it, health and the NCC show it); the other output still gets its job.
        """
        for worker, job in ((self.embosser, lambda d: d.emboss_ticket(view)),
                            (self.printer, lambda d: d.print_ticket(view))):
            if worker is not None:
                with contextlib.suppress(WorkerClosed):  # reported by the worker itself
                    worker.submit(job, label=view.number)

    def faulty_outputs(self) -> list[str]:
        """Names of ticket outputs known to be unable to work right now."""
        workers = [w for w in (self.embosser, self.printer) if w is not None]
        return [w.name for w in workers if w.state() is not DeviceState.OK]
