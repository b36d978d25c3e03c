"""The button panel: gpiozero buttons in, debounced ``ButtonEvent``s out on a queue.

gpiozero's callbacks only enqueue raw edges ``(name, pressed, time.monotonic())``; one
thread owns the debouncers (``edge.devices.debounce``), waits on that queue until the
next deadline, and puts events on the caller's ``sink``. gpiozero's own ``bounce_time``
is off: it drops edges, and we debounce ourselves. Each button is a gpiozero
``DigitalInputDevice`` (pull-up, active low), the base of ``Button`` without its hold
thread: ``Button`` starts one polling thread per button and its ``close()`` waits up to
``hold_time`` while the button is down; HELD comes from our debouncer instead.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from gpiozero import DigitalInputDevice, Factory

from edge.closing import Closing
from edge.devices.debounce import ButtonEvent, ButtonEventKind, DebounceConfig, Debouncer


@dataclass(frozen=True)
class _Edge:
    name: str
    pressed: bool
    t: float


_STOP = _Edge("", False, 0.0)  # tells the thread to end


class ButtonPanel(Closing):
    """Buttons named by the pin map, debounced, reported on ``sink``.

    >>> from gpiozero.pins.mock import MockFactory
    >>> factory, events = MockFactory(), queue.Queue()
    >>> with ButtonPanel({"help": 16}, sink=events, pin_factory=factory) as panel:
    ...     factory.pin(16).drive_low()
    ...     events.get(timeout=5).kind.name
    'PRESSED'
    """

    def __init__(
        self,
        pins: Mapping[str, int],
        *,
        sink: queue.Queue[ButtonEvent],
        pin_factory: Factory | None = None,
        debounce_s: float = 0.03,
        hold_s: float = 2.0,
        stuck_s: float = 10.0,
        min_interval_s: float = 0.5,
        recover_s: float = 0.5,
    ) -> None:
        self._config = DebounceConfig(debounce_s, hold_s, stuck_s, min_interval_s, recover_s)
        self._sink = sink
        self._edges: queue.Queue[_Edge] = queue.Queue()
        self._stuck: frozenset[str] = frozenset()
        self._buttons: dict[str, DigitalInputDevice] = {}
        try:
            for name, gpio in pins.items():
                self._buttons[name] = self._open(name, gpio, pin_factory)
        except Exception:
            self._close_buttons()
            raise
        now = time.monotonic()
        self._debouncers = {
            name: Debouncer(name, self._config, pressed=bool(button.is_active), t=now)
            for name, button in self._buttons.items()
        }
        self._thread = threading.Thread(target=self._run, name="button-panel", daemon=True)
        self._thread.start()

    def _open(self, name: str, gpio: int, pin_factory: Factory | None) -> DigitalInputDevice:
        button = DigitalInputDevice(gpio, pull_up=True, bounce_time=None, pin_factory=pin_factory)
        button.when_activated = lambda: self._edges.put(_Edge(name, True, time.monotonic()))
        button.when_deactivated = lambda: self._edges.put(_Edge(name, False, time.monotonic()))
        return button

    def stuck_buttons(self) -> frozenset[str]:
        """Names of the buttons that are stuck down now (a fault for node health)."""
        return self._stuck

    def close(self) -> None:
        if self._thread.is_alive():
            self._edges.put(_STOP)
            self._thread.join()
        self._close_buttons()


    def _close_buttons(self) -> None:
        for button in self._buttons.values():
            button.close()
        self._buttons.clear()

    # ---- the debounce thread ----

    def _run(self) -> None:
        while True:
            edge = self._next_edge()
            if edge is _STOP:
                return
            events = self._debouncers[edge.name].feed(edge.pressed, edge.t) if edge else []
            now = time.monotonic()
            for debouncer in self._debouncers.values():
                events += debouncer.tick(now)
            self._publish(sorted(events, key=lambda event: event.t))

    def _next_edge(self) -> _Edge | None:
        """The next raw edge, or None when a deadline came first."""
        deadlines = [d.next_deadline() for d in self._debouncers.values()]
        due = [deadline for deadline in deadlines if deadline is not None]
        timeout = max(0.0, min(due) - time.monotonic()) if due else None
        try:
            return self._edges.get(timeout=timeout)
        except queue.Empty:
            return None

    def _publish(self, events: list[ButtonEvent]) -> None:
        for event in events:
            if event.kind is ButtonEventKind.STUCK:
                self._stuck = self._stuck | {event.name}
            elif event.kind is ButtonEventKind.UNSTUCK:
                self._stuck = self._stuck - {event.name}
            self._sink.put(event)
