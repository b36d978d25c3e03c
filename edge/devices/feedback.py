"""Buzzer and LED feedback of a node: the tone a patient hears the moment a press counts.

Every method returns at once: gpiozero runs beeps and blinks on its own background
threads. LEDs absent from the board (the counter board has no ready/busy LEDs) are
silently skipped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from gpiozero import LED, Buzzer, Factory

from edge.closing import Closing

BEEP_S = 0.08
ERROR_GAP_S = 0.08
READY_BLINK_S = 0.3
LED_NAMES = frozenset({"led-ready", "led-fault", "led-busy"})


class Feedback(Closing):
    """Buzzer and status LEDs.

    >>> from gpiozero.pins.mock import MockFactory
    >>> factory = MockFactory()
    >>> with Feedback(12, {"led-fault": 24}, pin_factory=factory) as feedback:
    ...     feedback.fault(True)
    ...     factory.pin(24).state
    True
    """

    def __init__(
        self,
        buzzer_pin: int,
        leds: Mapping[str, int],
        *,
        pin_factory: Factory | None = None,
        on_tone: Callable[[float], None] | None = None,
    ) -> None:
        unknown = sorted(set(leds) - LED_NAMES)
        if unknown:
            raise ValueError(f"unknown LED {unknown[0]!r}; expected one of {sorted(LED_NAMES)}")
        self._on_tone = on_tone
        self._lock = threading.Lock()
        self._buzzer = Buzzer(buzzer_pin, pin_factory=pin_factory)
        self._leds: dict[str, LED] = {}
        try:
            for name, gpio in leds.items():
                self._leds[name] = LED(gpio, pin_factory=pin_factory)
        except Exception:
            self.close()
            raise

    def confirm(self) -> None:
        """A short beep and a green flash: the press counted."""
        with self._lock:
            self._beep(1)
            self._flash("led-ready", READY_BLINK_S)

    def error(self) -> None:
        """Two short beeps: the press was understood but cannot be served."""
        with self._lock:
            self._beep(2)

    def fault(self, active: bool) -> None:
        """Red LED: a device of this node needs a technician."""
        self._set("led-fault", active)

    def busy(self, active: bool) -> None:
        """Amber LED: the node is working (printing, embossing, speaking)."""
        self._set("led-busy", active)

    def close(self) -> None:
        """Switch everything off and free the pins."""
        with self._lock:
            if self._buzzer.closed:
                return
            for device in [*self._leds.values(), self._buzzer]:
                device.off()
                device.close()


    def _beep(self, count: int) -> None:
        # Switch on synchronously, so on_tone reports the moment the line really went high;
        # gpiozero's background thread then times the beeps (it starts with "on" again).
        self._buzzer.on()
        if self._on_tone is not None:
            self._on_tone(time.monotonic())
        self._buzzer.beep(on_time=BEEP_S, off_time=ERROR_GAP_S, n=count, background=True)

    def _flash(self, name: str, seconds: float) -> None:
        led = self._leds.get(name)
        if led is not None:
            led.blink(on_time=seconds, off_time=0.0, n=1, background=True)

    def _set(self, name: str, active: bool) -> None:
        with self._lock:
            led = self._leds.get(name)
            if led is not None:
                led.value = active
