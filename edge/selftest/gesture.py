"""The kiosk's self-test gesture: hold ``repeat`` and ``help`` together for 5 s, let go.

Fed with the node's debounced button events (times from ``time.monotonic``); it fires on
the first release after both buttons were down together for ``hold_s``. A pure state
machine: no clock of its own, no I/O.

>>> g = HoldGesture()
>>> [g.feed(ButtonEvent(n, k, t)) for n, k, t in [
...     ("repeat", ButtonEventKind.PRESSED, 0.0), ("help", ButtonEventKind.PRESSED, 0.5),
...     ("help", ButtonEventKind.RELEASED, 5.6)]]
[False, False, True]
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edge.devices.debounce import ButtonEvent, ButtonEventKind

GESTURE_BUTTONS = ("repeat", "help")
GESTURE_HOLD_S = 5.0


@dataclass
class HoldGesture:
    buttons: tuple[str, ...] = GESTURE_BUTTONS
    hold_s: float = GESTURE_HOLD_S
    _down: dict[str, float] = field(default_factory=dict)

    def feed(self, event: ButtonEvent) -> bool:
        """True when this event completes the gesture."""
        if event.name not in self.buttons:
            return False
        if event.kind is ButtonEventKind.PRESSED:
            self._down[event.name] = event.t
            return False
        if event.kind not in (ButtonEventKind.RELEASED, ButtonEventKind.STUCK):
            return False
        together_since = max(self._down.values()) if len(self._down) == len(self.buttons) \
            else None
        self._down.clear()
        if event.kind is ButtonEventKind.STUCK:
            return False  # a stuck button is a fault, not a technician
        return together_since is not None and event.t - together_since >= self.hold_s
