"""Feedback on gpiozero's MockFactory: what the buzzer and LED lines really did."""

from __future__ import annotations

import time

import pytest
from gpiozero import LED
from gpiozero.pins.mock import MockFactory, MockPin

from edge.devices.feedback import Feedback

BUZZER, READY, FAULT, BUSY = 12, 23, 24, 25
LEDS = {"led-ready": READY, "led-fault": FAULT, "led-busy": BUSY}


def states(pin: MockPin, count: int, timeout: float = 5.0) -> list[bool]:
    """The pin's level history once it holds ``count`` levels (the first is the initial one)."""
    deadline = time.monotonic() + timeout
    while len(pin.states) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return [state.state for state in pin.states]


@pytest.fixture
def factory() -> MockFactory:
    return MockFactory()


def test_confirm_beeps_once_flashes_green_and_reports_the_tone(factory: MockFactory) -> None:
    tones: list[tuple[float, bool]] = []
    buzzer = factory.pin(BUZZER)

    def on_tone(t: float) -> None:
        tones.append((t, buzzer.state))

    with Feedback(BUZZER, LEDS, pin_factory=factory, on_tone=on_tone) as feedback:
        before = time.monotonic()
        feedback.confirm()
        assert states(buzzer, 3) == [False, True, False]
        assert states(factory.pin(READY), 3) == [False, True, False]
    assert len(tones) == 1
    t, buzzing = tones[0]
    assert buzzing, "on_tone must be called once the buzzer line is on"
    assert before <= t <= time.monotonic()


def test_error_beeps_twice_and_leaves_the_leds(factory: MockFactory) -> None:
    with Feedback(BUZZER, LEDS, pin_factory=factory) as feedback:
        feedback.error()
        assert states(factory.pin(BUZZER), 5) == [False, True, False, True, False]
        for gpio in LEDS.values():
            assert states(factory.pin(gpio), 1, timeout=0) == [False]


@pytest.mark.parametrize(("method", "gpio"), [("fault", FAULT), ("busy", BUSY)])
def test_status_leds_follow_the_state(factory: MockFactory, method: str, gpio: int) -> None:
    with Feedback(BUZZER, LEDS, pin_factory=factory) as feedback:
        getattr(feedback, method)(True)
        assert factory.pin(gpio).state
        getattr(feedback, method)(True)
        getattr(feedback, method)(False)
        assert states(factory.pin(gpio), 3) == [False, True, False]
        others = set(LEDS.values()) - {gpio}
        assert not any(factory.pin(other).state for other in others)


def test_counter_board_without_ready_and_busy_leds(factory: MockFactory) -> None:
    with Feedback(BUZZER, {"led-fault": FAULT}, pin_factory=factory) as feedback:
        feedback.busy(True)
        feedback.confirm()
        feedback.fault(True)
        assert states(factory.pin(BUZZER), 3) == [False, True, False]
        assert factory.pin(FAULT).state


def test_unknown_led_is_refused(factory: MockFactory) -> None:
    with pytest.raises(ValueError, match="led-blue"):
        Feedback(BUZZER, {"led-blue": 5}, pin_factory=factory)


def test_close_turns_off_and_frees_the_pins(factory: MockFactory) -> None:
    feedback = Feedback(BUZZER, LEDS, pin_factory=factory)
    feedback.fault(True)
    feedback.close()
    feedback.close()  # twice is harmless
    assert not factory.pin(FAULT).state
    with LED(FAULT, pin_factory=factory) as led:
        led.on()
        assert factory.pin(FAULT).state
