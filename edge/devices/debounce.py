"""Debounce, hold and stuck-button logic for one button: a pure, clock-injected state machine.

Nothing here reads a clock or a pin. The caller feeds raw line levels with their times
(``feed``), wakes the machine at ``next_deadline()`` (``tick``), and gets ``ButtonEvent``s.

Policy (times from ``DebounceConfig``):

- **Leading edge.** A press is reported on its first edge, so the confirmation tone is
  immediate. While the button is down, edges are chatter: a release counts only once the
  line has stayed released for ``debounce_s`` (the bounces of a release restart that wait).
- **Flood guard.** A press that starts less than ``min_interval_s`` after the last reported
  press is swallowed whole (no PRESSED, no RELEASED): a nervous double tap gives one
  ticket. The default 0.5 s is below the ~1 s gap of a patient pressing twice on purpose.
- **Hold.** HELD once, ``hold_s`` after a reported press, if the line is still down.
- **Stuck.** A line down continuously for ``stuck_s`` is STUCK, a fault. A stuck button
  reports no PRESSED; it reports UNSTUCK (instead of RELEASED) after the line has stayed
  released for ``recover_s``. A line already down when the machine starts is never a
  press: it can only become STUCK.
- Event times are logical: a PRESSED carries its edge time, the other events the deadline
  that confirmed them. Times that run backwards are treated as the latest time seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ButtonEventKind(Enum):
    """What happened to a button."""

    PRESSED = "pressed"
    RELEASED = "released"
    HELD = "held"
    STUCK = "stuck"
    UNSTUCK = "unstuck"


@dataclass(frozen=True)
class ButtonEvent:
    """One debounced button event.

    >>> ButtonEvent("service-1", ButtonEventKind.PRESSED, 12.5).kind.value
    'pressed'
    """

    name: str
    kind: ButtonEventKind
    t: float


@dataclass(frozen=True)
class DebounceConfig:
    """Timing policy of a ``Debouncer`` (seconds).

    >>> DebounceConfig(hold_s=1.0).stuck_s
    10.0
    """

    debounce_s: float = 0.03
    hold_s: float = 2.0
    stuck_s: float = 10.0
    min_interval_s: float = 0.5
    recover_s: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.debounce_s < self.hold_s < self.stuck_s:
            raise ValueError("need 0 < debounce_s < hold_s < stuck_s")
        if self.min_interval_s < 0 or self.recover_s < self.debounce_s:
            raise ValueError("need min_interval_s >= 0 and recover_s >= debounce_s")


class _Phase(Enum):
    RELEASED = "released"  # reported released (or never pressed)
    PRESSED = "pressed"  # reported pressed
    IGNORED = "ignored"  # down, but swallowed (flood guard, or down at start)
    STUCK = "stuck"  # down for stuck_s: a fault


class Debouncer:
    """Turns the raw levels of one button into debounced events.

    >>> d = Debouncer("help")
    >>> [e.kind.name for e in d.feed(True, 1.000) + d.feed(False, 1.002) + d.feed(True, 1.004)]
    ['PRESSED']
    >>> d.feed(False, 1.100), round(d.next_deadline() or 0, 3)
    ([], 1.13)
    >>> [(e.kind.name, round(e.t, 3)) for e in d.tick(2.0)]
    [('RELEASED', 1.13)]
    """

    def __init__(
        self,
        name: str,
        config: DebounceConfig | None = None,
        *,
        pressed: bool = False,
        t: float = 0.0,
    ) -> None:
        self.name = name
        self._cfg = config or DebounceConfig()
        self._now = t
        self._raw = pressed
        self._phase = _Phase.IGNORED if pressed else _Phase.RELEASED
        self._down_since = t
        self._up_since: float | None = None  # raw released while a press is open
        self._held = False
        self._last_press: float | None = None

    @property
    def stuck(self) -> bool:
        return self._phase is _Phase.STUCK

    def feed(self, level_pressed: bool, t: float) -> list[ButtonEvent]:
        """The line was seen at ``level_pressed`` at time ``t``."""
        events = self.tick(t)
        if level_pressed != self._raw:
            self._raw = level_pressed
            events += self._edge(level_pressed, self._now)
        return events

    def tick(self, t: float) -> list[ButtonEvent]:
        """Report what the deadlines up to ``t`` confirmed."""
        self._now = max(self._now, t)
        events: list[ButtonEvent] = []
        deadline = self.next_deadline()
        while deadline is not None and deadline <= self._now:
            events += self._expire(deadline)
            deadline = self.next_deadline()
        return events

    def next_deadline(self) -> float | None:
        """When ``tick`` next has something to decide, or None if only an edge can change it."""
        if self._phase is _Phase.RELEASED:
            return None
        if self._up_since is not None:
            wait = self._cfg.recover_s if self.stuck else self._cfg.debounce_s
            return self._up_since + wait
        if self.stuck:
            return None
        if self._phase is _Phase.PRESSED and not self._held:
            return self._down_since + self._cfg.hold_s
        return self._down_since + self._cfg.stuck_s

    def _edge(self, pressed: bool, t: float) -> list[ButtonEvent]:
        if self._phase is not _Phase.RELEASED:
            self._up_since = None if pressed else t
            return []
        self._down_since, self._held = t, False
        last = self._last_press
        if last is not None and t - last < self._cfg.min_interval_s:
            self._phase = _Phase.IGNORED
            return []
        self._phase, self._last_press = _Phase.PRESSED, t
        return [self._event(ButtonEventKind.PRESSED, t)]

    def _expire(self, t: float) -> list[ButtonEvent]:
        if self._up_since is not None:
            return self._released(t)
        if self._phase is _Phase.PRESSED and not self._held:
            self._held = True
            return [self._event(ButtonEventKind.HELD, t)]
        self._phase = _Phase.STUCK
        return [self._event(ButtonEventKind.STUCK, t)]

    def _released(self, t: float) -> list[ButtonEvent]:
        was, self._phase, self._up_since = self._phase, _Phase.RELEASED, None
        if was is _Phase.PRESSED:
            return [self._event(ButtonEventKind.RELEASED, t)]
        if was is _Phase.STUCK:
            return [self._event(ButtonEventKind.UNSTUCK, t)]
        return []

    def _event(self, kind: ButtonEventKind, t: float) -> ButtonEvent:
        return ButtonEvent(self.name, kind, t)
