"""The kiosk role: a patient presses a Braille-labelled button and gets a ticket.

The press path (DESIGN.md): the confirmation tone first, then the ticket's transaction,
then speech, embosser, printer, cells and MQTT, each through its own worker, so nothing
between the press and the tone waits on a device, the disk or the network.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from edge.context import NodeContext
from edge.devices.debounce import ButtonEvent, ButtonEventKind
from edge.queue.models import Issued, StorageError
from edge.speech import phrases
from edge.ticket import TicketView

CHANNEL = "kiosk"
NOTICE = "kiosk-notice"
PATIENT_CELLS_S = 30.0  # the cells show the patient's own number this long after a press


class Kiosk:
    """Handles the kiosk's buttons: one per service, ``repeat`` and ``help``.

    ``confirm`` is the feedback tone (the board's buzzer); it is called before anything
    else happens for a press.
    """

    def __init__(self, ctx: NodeContext, confirm: Callable[[], None]) -> None:
        self._ctx = ctx
        self._confirm = confirm
        self._by_button = {s.button: s.code for s in ctx.config.services}
        self.buttons: frozenset[str] = frozenset({*self._by_button, "repeat", "help"})
        self._last: TicketView | None = None
        self._last_press = float("-inf")

    def handle(self, event: ButtonEvent) -> None:
        if event.kind is ButtonEventKind.PRESSED:
            self._pressed(event.name)
        elif event.kind is ButtonEventKind.HELD and event.name == "repeat":
            volume = self._ctx.speech.volume_up(CHANNEL)
            self._ctx.emit("volume", channel=CHANNEL, volume=volume)

    def _pressed(self, name: str) -> None:
        if name in self._by_button:
            self.issue(self._by_button[name])
        elif name == "repeat":
            self._confirm()
            self._ctx.speech.repeat(CHANNEL)
        elif name == "help":
            self._confirm()
            self.request_help()

    def issue(self, service: str) -> Issued | None:
        """Tone, ticket, then everything that tells the patient about it.

        When the ticket cannot be stored (a full or failing disk) the patient hears an
        apology and where to get help instead, and None is returned.
        """
        self._confirm()
        ctx = self._ctx
        try:
            issued = ctx.engine.issue(service, assisted=ctx.config.braille_kiosk,
                                      source=ctx.config.node)
        except StorageError as e:
            self._apologise(e)
            return None
        ctx.stored()
        ctx.emit("issued", number=issued.ticket.number, ahead=issued.ahead)
        view = ctx.view(issued.ticket, issued.ahead)
        self._last = view
        self._last_press = time.monotonic()
        ctx.speech.say(self._sentence(view), channel=CHANNEL)
        ctx.output_ticket(view)
        self._show_cells(view)
        ctx.notifier.notify_event()
        ctx.notifier.notify_queue_changed()
        return issued

    def _sentence(self, view: TicketView) -> str:
        faults = [phrases.device_fault_sentence(d) for d in self._ctx.faulty_outputs()]
        return " ".join([phrases.ticket_sentence(view), *faults])

    def _show_cells(self, view: TicketView) -> None:
        if self._ctx.cells is not None:
            self._ctx.cells.show(f"{view.number} {view.ahead}",
                                 spoken=phrases.ticket_sentence(view))

    def _apologise(self, error: StorageError) -> None:
        self._ctx.speech.say(phrases.storage_fault_sentence(), channel=CHANNEL)
        self._ctx.emit("not-stored", error=error)
        self._ctx.storage_failed(error)

    def request_help(self) -> None:
        """Help is asked for; on a failing disk the request waits in memory for the NCC."""
        self._ctx.record("help.requested", {"source": self._ctx.config.node})
        self._ctx.speech.say(phrases.help_sentence(), channel=CHANNEL)
        self._ctx.emit("help")
        self._ctx.notifier.notify_event()

    def output_failed(self, device: str) -> None:
        """A ticket output broke after the patient heard the ticket: tell them."""
        number = self._last.number if self._last else None
        self._ctx.speech.say(phrases.device_fault_sentence(device, number), channel=NOTICE)

    def tick(self) -> None:
        """Between patients the cells show the numbers now served at nearby services."""
        cells = self._ctx.cells
        if cells is None or time.monotonic() - self._last_press < PATIENT_CELLS_S:
            return
        try:
            serving = [t for t in self._ctx.engine.serving().values() if t is not None]
        except StorageError:
            return  # the storage fault is shown and spoken elsewhere
        near = [t.number for t in serving if t.service in self._ctx.config.cells_near]
        if near:
            spoken = "Sedang dilayani: " + ", ".join(phrases.spell_number(n) for n in near) + "."
        else:
            spoken = "Belum ada nomor antrean yang dilayani."
        cells.show(" ".join(near), spoken=spoken)
