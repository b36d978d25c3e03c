"""ButtonPanel on gpiozero's MockFactory: chatter, hold, stuck, double taps, many buttons.

Timing logic is proven with explicit timestamps in test_debounce.py; here the thresholds
are set so that a slow machine can only wait longer, never break a test.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator

import pytest
from gpiozero import Button, GPIOPinInUse
from gpiozero.pins.mock import MockFactory

from edge.devices.buttons import ButtonPanel
from edge.devices.debounce import ButtonEvent, ButtonEventKind

P, R, H, S, U = (
    ButtonEventKind.PRESSED,
    ButtonEventKind.RELEASED,
    ButtonEventKind.HELD,
    ButtonEventKind.STUCK,
    ButtonEventKind.UNSTUCK,
)
WAIT = 10.0
PINS = {"service-1": 17, "service-2": 27, "help": 16}


@pytest.fixture
def factory() -> MockFactory:
    return MockFactory()


@pytest.fixture
def sink() -> queue.Queue[ButtonEvent]:
    return queue.Queue()


def next_event(sink: queue.Queue[ButtonEvent]) -> tuple[str, ButtonEventKind]:
    event = sink.get(timeout=WAIT)
    return event.name, event.kind


def events_until(
    sink: queue.Queue[ButtonEvent], last: tuple[str, ButtonEventKind]
) -> Iterator[tuple[str, ButtonEventKind]]:
    while (got := next_event(sink)) != last:
        yield got
    yield got


def chatter(factory: MockFactory, gpio: int, end_low: bool, bounces: int = 10) -> None:
    """First contact, then ``bounces`` more edges as fast as Python drives them."""
    pin = factory.pin(gpio)
    for i in range(bounces + 1):
        low = end_low == (i % 2 == 0)
        pin.drive_low() if low else pin.drive_high()


def test_chatter_is_one_press_and_one_release(
    factory: MockFactory, sink: queue.Queue[ButtonEvent]
) -> None:
    with ButtonPanel(PINS, sink=sink, pin_factory=factory, debounce_s=0.5, min_interval_s=0.0):
        before = time.monotonic()
        chatter(factory, 17, end_low=True)
        first = sink.get(timeout=WAIT)
        chatter(factory, 17, end_low=False)
        assert next_event(sink) == ("service-1", R)
        assert sink.empty()
    assert (first.name, first.kind) == ("service-1", P)
    assert before <= first.t <= time.monotonic()


def test_hold(factory: MockFactory, sink: queue.Queue[ButtonEvent]) -> None:
    with ButtonPanel(PINS, sink=sink, pin_factory=factory, hold_s=0.1, stuck_s=60.0):
        factory.pin(16).drive_low()
        assert next_event(sink) == ("help", P)
        assert next_event(sink) == ("help", H)
        factory.pin(16).drive_high()
        assert next_event(sink) == ("help", R)


def test_stuck_floods_nothing_and_recovers(
    factory: MockFactory, sink: queue.Queue[ButtonEvent]
) -> None:
    config = {"debounce_s": 0.01, "hold_s": 0.05, "stuck_s": 0.2, "recover_s": 1.0}
    with ButtonPanel(PINS, sink=sink, pin_factory=factory, **config) as panel:
        assert panel.stuck_buttons() == frozenset()
        factory.pin(27).drive_low()
        assert list(events_until(sink, ("service-2", S))) == [
            ("service-2", P),
            ("service-2", H),
            ("service-2", S),
        ]
        assert panel.stuck_buttons() == {"service-2"}
        for _ in range(20):  # a worn switch flickering while stuck
            chatter(factory, 27, end_low=True)
        factory.pin(27).drive_high()
        assert next_event(sink) == ("service-2", U)
        assert panel.stuck_buttons() == frozenset()
        factory.pin(27).drive_low()
        assert next_event(sink) == ("service-2", P)


def test_two_deliberate_presses_are_two_events(
    factory: MockFactory, sink: queue.Queue[ButtonEvent]
) -> None:
    with ButtonPanel(PINS, sink=sink, pin_factory=factory, debounce_s=0.01, min_interval_s=0.2):
        for _ in range(2):
            factory.pin(17).drive_low()
            assert next_event(sink) == ("service-1", P)
            factory.pin(17).drive_high()
            assert next_event(sink) == ("service-1", R)
            time.sleep(0.25)  # a patient pressing again on purpose, later than min_interval_s


def test_nervous_double_tap_is_one_event(
    factory: MockFactory, sink: queue.Queue[ButtonEvent]
) -> None:
    with ButtonPanel(PINS, sink=sink, pin_factory=factory, debounce_s=0.01, min_interval_s=0.4):
        pin = factory.pin(17)
        pin.drive_low()
        assert next_event(sink) == ("service-1", P)
        pin.drive_high()
        assert next_event(sink) == ("service-1", R)
        pin.drive_low()  # the second tap, at once: swallowed
        pin.drive_high()
        time.sleep(0.45)
        third = time.monotonic()
        pin.drive_low()  # a press after min_interval_s counts again
        event = sink.get(timeout=WAIT)
        assert (event.kind, event.t >= third) == (P, True)  # not the swallowed tap


def test_several_buttons_at_once(factory: MockFactory, sink: queue.Queue[ButtonEvent]) -> None:
    with ButtonPanel(PINS, sink=sink, pin_factory=factory, debounce_s=0.01):
        for gpio in PINS.values():
            chatter(factory, gpio, end_low=True)
        pressed = {next_event(sink) for _ in PINS}
        for gpio in PINS.values():
            chatter(factory, gpio, end_low=False)
        released = {next_event(sink) for _ in PINS}
    assert pressed == {(name, P) for name in PINS}
    assert released == {(name, R) for name in PINS}


def test_close_frees_the_pins(factory: MockFactory, sink: queue.Queue[ButtonEvent]) -> None:
    panel = ButtonPanel(PINS, sink=sink, pin_factory=factory)
    panel.close()
    factory.pin(17).drive_low()  # nobody listens any more
    with Button(17, pin_factory=factory) as button:  # the pin is free for a new device
        factory.pin(17).drive_low()
        assert button.is_pressed
    assert sink.empty()


def test_a_bad_pin_releases_the_others(
    factory: MockFactory, sink: queue.Queue[ButtonEvent]
) -> None:
    with pytest.raises(GPIOPinInUse):
        ButtonPanel({"a": 17, "b": 17}, sink=sink, pin_factory=factory)
    with Button(17, pin_factory=factory):
        pass
