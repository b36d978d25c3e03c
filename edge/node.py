"""A puskesmas node: its roles, its devices and the thread that routes button presses.

The devices are chosen outside (``Hardware``: real serial ports and the platform's pin
factory, or emulators and ``MockFactory`` for ``--simulate``) and injected here.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from gpiozero import Factory

from edge import __version__
from edge.bpjs.calls import Patient
from edge.bpjs.store import BpjsStore
from edge.bpjs.sync import BpjsSync
from edge.caller import Caller
from edge.cells.display import CellsDisplay
from edge.config import NodeConfig
from edge.context import NodeContext, Notifier
from edge.devices.buttons import ButtonPanel
from edge.devices.debounce import ButtonEvent, ButtonEventKind
from edge.devices.embosser import Embosser
from edge.devices.feedback import Feedback
from edge.devices.printer import TicketPrinter
from edge.devices.state import DeviceState
from edge.devices.worker import Driver, OutputWorker
from edge.kiosk import Kiosk
from edge.node_actions import CommandError
from edge.pinmap import PinMap
from edge.queue.engine import QueueEngine
from edge.queue.models import QueueError, StorageError
from edge.selftest.innode import NodeSelftest
from edge.speech import phrases
from edge.speech.backends import SpeechBackend
from edge.speech.worker import SpeechWorker
from edge.storage import RESERVE_BYTES, StorageGuard, StorageHealth

log = logging.getLogger(__name__)
TICK_S = 2.0  # how often idle displays are refreshed


@dataclass(frozen=True)
class Board:
    """One wired board (kiosk or counter) and the pin factory that reaches it."""

    pins: PinMap
    pin_factory: Factory | None = None


@dataclass(frozen=True)
class Hardware:
    """How this node reaches its devices; ``None`` means not fitted."""

    speech: SpeechBackend
    kiosk: Board | None = None
    counter: Board | None = None
    embosser_url: str | None = None
    printer_url: str | None = None
    cells_url: str | None = None
    on_tone: Callable[[float], None] | None = None


@dataclass
class _BoardParts:
    panel: ButtonPanel
    feedback: Feedback


@dataclass
class _Faults:
    devices: dict[str, str] = field(default_factory=dict)  # device -> state while faulty


class Node:
    """Holds the roles and devices of one node; also the ``NodeActions`` the MQTT link uses.

    >>> # see edge/simulation.py for a complete, runnable node
    """

    def __init__(
        self, config: NodeConfig, data_dir: Path, hardware: Hardware, *,
        probe_interval_s: float = 10.0, reserve_bytes: int = RESERVE_BYTES,
    ) -> None:
        self.config = config
        self._probe_interval_s = probe_interval_s
        self.data_dir = data_dir
        self._hw = hardware
        engine = QueueEngine(data_dir / "queue.db", config)
        speech = SpeechWorker(hardware.speech, volume=config.speaker.volume)
        self.ctx = NodeContext(config, engine, speech)
        self.storage = StorageGuard(engine, data_dir, on_change=self._storage_changed,
                                    on_stored=lambda: self.ctx.notifier.notify_event(),
                                    reserve_bytes=reserve_bytes)
        self.ctx.storage = self.storage
        self.bpjs = self._bpjs_sync(config, data_dir)
        self._cells: CellsDisplay | None = None
        self._events: queue.Queue[ButtonEvent] = queue.Queue()
        self._boards: dict[str, _BoardParts] = {}
        self._faults = _Faults()
        self._started = time.monotonic()
        self._stop = threading.Event()
        self.kiosk: Kiosk | None = None
        self.caller: Caller | None = None
        self.selftests = NodeSelftest(self)
        self._router = threading.Thread(target=self._route, name="press-router", daemon=True)

    # --- life cycle -----------------------------------------------------------------

    def start(self, notifier: Notifier | None = None) -> Node:
        """Start every worker and board; on failure, stop what was started and re-raise."""
        try:
            return self._start(notifier)
        except BaseException:
            self.stop()
            raise

    def _start(self, notifier: Notifier | None) -> Node:
        if notifier is not None:
            self.ctx.notifier = notifier
        self.ctx.speech.start()
        self.storage.start()
        if self.bpjs is not None:
            self.bpjs.start()
        self.ctx.embosser = self._worker("embosser", self._hw.embosser_url, self._embosser)
        self.ctx.printer = self._worker("printer", self._hw.printer_url, self._printer)
        if self.config.cells.enabled and self._hw.cells_url is not None:
            self._cells = CellsDisplay(self._hw.cells_url, cells=self.config.cells.width,
                                       on_state=self._device_state,
                                       message_s=self.config.cells.message_s)
            self.ctx.cells = self._cells
        if "kiosk" in self.config.roles and self._hw.kiosk is not None:
            parts = self._board("kiosk", self._hw.kiosk)
            self.kiosk = Kiosk(self.ctx, parts.feedback.confirm)
        if "caller" in self.config.roles and self._hw.counter is not None:
            parts = self._board("counter", self._hw.counter)
            self.caller = Caller(self.ctx, parts.feedback.confirm, parts.feedback.error)
        self._router.start()
        return self

    def stop(self) -> None:
        self.selftests.close()
        self._stop.set()
        if self._router.is_alive():
            self._router.join(timeout=5)
        for parts in self._boards.values():
            parts.panel.close()
            parts.feedback.close()
        for worker in (self.ctx.embosser, self.ctx.printer, self._cells):
            if worker is not None:
                worker.close()
        if self.bpjs is not None:
            self.bpjs.close()
        self.ctx.speech.close()
        self.ctx.engine.close()

    def _board(self, name: str, board: Board) -> _BoardParts:
        timing = self.config.buttons
        pins = self._board_buttons(name, board.pins)
        buzzer = board.pins.buzzer()
        if buzzer is None:
            raise ValueError(f"pin map board {name!r} has no buzzer")
        feedback = Feedback(buzzer, board.pins.leds(), pin_factory=board.pin_factory,
                            on_tone=self._hw.on_tone)
        try:
            panel = ButtonPanel(pins, sink=self._events, pin_factory=board.pin_factory,
                                debounce_s=timing.debounce_s, hold_s=timing.hold_s,
                                stuck_s=timing.stuck_s, min_interval_s=timing.double_tap_s)
        except BaseException:
            feedback.close()
            raise
        parts = _BoardParts(panel, feedback)
        self._boards[name] = parts
        return parts

    def _board_buttons(self, name: str, pins: PinMap) -> dict[str, int]:
        """The board's buttons this node's config uses."""
        if name == "kiosk":
            wanted = {s.button for s in self.config.services} | {"repeat", "help"}
        else:
            wanted = {c.button(a) for c in self.config.counters
                      for a in ("next", "recall", "skip", "done")}
        available = pins.buttons()
        missing = sorted(wanted - set(available))
        if missing:
            raise ValueError(f"pin map board {name!r} has no button {missing[0]!r}")
        return {n: available[n] for n in sorted(wanted)}

    def _worker(
        self, name: str, url: str | None, opener: Callable[[str], Driver]
    ) -> OutputWorker | None:
        device = getattr(self.config, name)
        if not device.enabled or url is None:
            return None
        return OutputWorker(name, lambda: opener(url), on_state=self._device_state,
                            probe_interval_s=self._probe_interval_s)

    def _embosser(self, url: str) -> Driver:
        cfg = self.config.embosser
        return Embosser(url, width_cells=cfg.width, baudrate=cfg.baudrate,
                        status_query=cfg.status_query)

    def _printer(self, url: str) -> Driver:
        cfg = self.config.printer
        return TicketPrinter(url, baudrate=cfg.baudrate, width_chars=cfg.width,
                             status_query=cfg.status_query)

    # --- the press router -------------------------------------------------------------

    def _route(self) -> None:
        next_tick = 0.0
        while not self._stop.is_set():
            try:
                event = self._events.get(timeout=0.1)
            except queue.Empty:
                event = None
            try:
                if event is not None:
                    self._dispatch(event)
                self._cell_keys()
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + TICK_S
                    self.storage.tick()
                    if self.kiosk is not None:
                        self.kiosk.tick()
            except Exception:  # one bad press must not stop every later one
                log.exception("handling %s failed", event)

    def _cell_keys(self) -> None:
        """A routing key on the cells: say what the cells show."""
        if self._cells is None:
            return
        while True:
            try:
                key = self._cells.keys.get_nowait()
            except queue.Empty:
                return
            if self._cells.pan(key.key):  # the last key showed the next page
                continue
            channel = "kiosk" if self.kiosk is not None else "counter-cells"
            self.ctx.speech.say(self._cells.spoken, channel=channel)
            self.ctx.emit("cell-key", key=key.key)

    def _dispatch(self, event: ButtonEvent) -> None:
        if self.selftests.intercept(event):  # the self-test asked for this press
            return
        if event.kind in (ButtonEventKind.STUCK, ButtonEventKind.UNSTUCK):
            self._button_fault(event)
        elif self.kiosk is not None and event.name in self.kiosk.buttons:
            self.kiosk.handle(event)
        elif self.caller is not None and event.name in self.caller.buttons:
            self.caller.handle(event)

    def press_events(self) -> queue.Queue[ButtonEvent]:
        """The queue debounced button events arrive on (simulation injects here too)."""
        return self._events

    # --- faults -----------------------------------------------------------------------

    def _button_fault(self, event: ButtonEvent) -> None:
        stuck = event.kind is ButtonEventKind.STUCK
        key = f"button:{event.name}"
        state = "stuck" if stuck else None
        data = {"device": "button", "name": event.name, "state": state or "ok"}
        self._set_fault(key, state, data)
        if stuck and self.kiosk is not None and event.name in self.kiosk.buttons:
            self.ctx.speech.say(phrases.stuck_button_sentence(), channel="kiosk-notice")

    def _device_state(self, name: str, state: DeviceState, detail: str) -> None:
        """Called from a device worker's thread when its state changes."""
        faulty = state is not DeviceState.OK
        self._set_fault(name, state.value if faulty else None,
                        {"device": name, "state": state.value, "detail": detail})
        if faulty and self.kiosk is not None:
            self.kiosk.output_failed(name)

    def _set_fault(self, key: str, state: str | None, data: dict[str, Any]) -> None:
        with self.ctx.lock:
            was = key in self._faults.devices
            if state is None:
                self._faults.devices.pop(key, None)
            else:
                self._faults.devices[key] = state
            active = bool(self._faults.devices)
        if was == (state is not None):
            return
        self.ctx.record("device.fault" if state else "device.recovered", data)
        self.ctx.emit("fault" if state else "recovered", **data)
        self._fault_leds(active)
        self.ctx.notifier.notify_event()
        self.ctx.notifier.notify_health_changed()

    def _fault_leds(self, active: bool) -> None:
        for parts in self._boards.values():
            parts.feedback.fault(active or self.storage.faulty)

    def _storage_changed(self, health: StorageHealth | None) -> None:
        """The storage guard's fault started (``health``) or cleared (None)."""
        if health is None:
            self.ctx.emit("recovered", device="storage")
        else:
            self.ctx.emit("fault", device="storage", state=health.state.value,
                          free_bytes=health.free_bytes, error=health.error)
        with self.ctx.lock:
            active = bool(self._faults.devices)
        self._fault_leds(active)
        self.ctx.notifier.notify_event()
        self.ctx.notifier.notify_health_changed()

    # --- health and NodeActions ---------------------------------------------------------

    def health(self) -> dict[str, Any]:
        def state(worker: OutputWorker | None) -> str:
            return worker.state().value if worker else DeviceState.DISABLED.value

        stuck = sorted(n for p in self._boards.values() for n in p.panel.stuck_buttons())
        cells = self.ctx.cells.state().value if self.ctx.cells else DeviceState.DISABLED.value
        link = self.ctx.notifier.link_health()
        return {
            "printer": state(self.ctx.printer),
            "embosser": state(self.ctx.embosser),
            "cells": cells,
            "speaker": self.ctx.speech.state().value,
            "buttons": {"state": "stuck" if stuck else "ok", "stuck": stuck},
            "storage": self.storage.health().to_dict(),
            **({"bpjs": self.bpjs.health()} if self.bpjs is not None else {}),
            "uptime_s": round(time.monotonic() - self._started, 1),
            "version": __version__,
            **({"mqtt": link} if link is not None else {}),
        }

    # --- BPJS Antrean FKTP (docs/bpjs.md) ----------------------------------------------

    def _bpjs_sync(self, config: NodeConfig, data_dir: Path) -> BpjsSync | None:
        """The BPJS sync of the node that holds the site's queue (its kiosk), if configured."""
        if config.bpjs is None or "kiosk" not in config.roles:
            return None
        BpjsStore(data_dir / "queue.db").close()  # tables and triggers before any event
        return BpjsSync(config.bpjs, data_dir / "queue.db", timezone=config.timezone,
                        on_event=lambda: self.ctx.notifier.notify_event(),
                        on_refused=self._bpjs_refused)

    def _bpjs_refused(self, number: str, message: str) -> None:
        self.ctx.speech.say(phrases.bpjs_refused_sentence(number), channel="staff")
        self.ctx.notifier.notify_health_changed()

    def bpjs_register(self, number: str, patient: Patient) -> None:
        """Staff tie today's ticket to a BPJS patient (never over MQTT: docs/bpjs.md)."""
        if self.bpjs is None:
            raise CommandError("BPJS is not configured on this node ([bpjs])")
        store = BpjsStore(self.data_dir / "queue.db")
        try:
            store.register(number, patient, now=datetime.now(ZoneInfo(self.config.timezone)))
        finally:
            store.close()
        self.bpjs.notify()

    def _caller(self) -> Caller:
        if self.caller is None:
            raise CommandError("this node has no caller role")
        return self.caller

    def _queue_action(self, action: Callable[[], Any]) -> dict[str, Any]:
        try:
            ticket = action()
        except QueueError as e:
            raise CommandError(str(e)) from None
        except StorageError as e:
            raise CommandError(f"not stored: {e}") from None
        if ticket is None:
            return {"number": None}
        return {"number": ticket.number, "service": ticket.service, "state": ticket.state.value}

    def call_next(self, counter: int) -> dict[str, Any]:
        return self._queue_action(lambda: self._caller().call_next(counter))

    def recall(self, counter: int) -> dict[str, Any]:
        return self._queue_action(lambda: self._caller().recall(counter))

    def skip(self, counter: int) -> dict[str, Any]:
        return self._queue_action(lambda: self._caller().skip(counter))

    def complete(self, counter: int) -> dict[str, Any]:
        return self._queue_action(lambda: self._caller().complete(counter))

    def transfer(self, counter: int, service: str) -> dict[str, Any]:
        return self._queue_action(lambda: self._caller().transfer(counter, service))

    def announce(self, text: str) -> dict[str, Any]:
        self.ctx.speech.say(text, channel="announce", chime=True)
        return {"spoken": True}

    def reprint(self, number: str) -> dict[str, Any]:
        try:
            ticket = self.ctx.engine.find(number)
        except StorageError as e:
            raise CommandError(f"cannot read the queue: {e}") from None
        if ticket is None:
            raise CommandError(f"no ticket {number} today")
        self.ctx.output_ticket(self.ctx.view(ticket, self.ctx.engine.ahead_of(ticket)))
        return {"number": number, "queued": [w.name for w in self._outputs()]}

    def show_message(self, text: str) -> dict[str, Any]:
        """Staff's short message on the cells (the original Braille aid); it stays until
        replaced or cleared (empty text), or for ``[cells] message_s``."""
        if self._cells is None:
            raise CommandError("this node has no Braille cells")
        try:
            pages = self._cells.show_message(text)
        except ValueError as e:
            raise CommandError(f"the cells cannot show this message: {e}") from None
        return {"shown": text, "pages": pages}

    def selftest(self) -> dict[str, Any]:
        """Start the self-test on its own thread (edge.selftest.innode); replies at once."""
        return self.selftests.start("command")

    def _outputs(self) -> list[OutputWorker]:
        return [w for w in (self.ctx.embosser, self.ctx.printer) if w is not None]

    def queue_snapshot(self) -> dict[str, Any]:
        engine = self.ctx.engine
        serving = {str(n): (t.number if t else None) for n, t in engine.serving().items()}
        day, issued = engine.last_numbers()
        snapshot = {"waiting": engine.waiting(), "serving": serving,
                    "last_called": engine.last_called(), "issued": issued}
        return {**snapshot, "day": day} if day is not None else snapshot

    def continue_numbers(self, last_numbers: dict[str, int], *, day: str | None = None) -> bool:
        """Continue ``day``'s numbers after these (a fresh database; edge/mqtt/site_queue)."""
        return self.ctx.engine.continue_numbers(last_numbers, day=day)
