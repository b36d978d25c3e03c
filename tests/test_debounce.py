"""The debounce/hold/stuck state machine, driven with explicit timestamps."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.devices.debounce import ButtonEvent, ButtonEventKind, DebounceConfig, Debouncer

P, R, H, S, U = (
    ButtonEventKind.PRESSED,
    ButtonEventKind.RELEASED,
    ButtonEventKind.HELD,
    ButtonEventKind.STUCK,
    ButtonEventKind.UNSTUCK,
)
CFG = DebounceConfig(debounce_s=0.03, hold_s=2.0, stuck_s=10.0, min_interval_s=0.5, recover_s=0.5)

Step = tuple[bool, float] | float  # (level, t) feeds a level; a bare float ticks


def run(steps: Sequence[Step], debouncer: Debouncer | None = None) -> list[tuple[str, float]]:
    d = debouncer or Debouncer("b", CFG)
    events: list[ButtonEvent] = []
    for step in steps:
        events += d.tick(step) if isinstance(step, float) else d.feed(*step)
    assert all(e.name == d.name for e in events)
    return [(e.kind.name, round(e.t, 6)) for e in events]


def chatter(start: float, level: bool, bounces: int = 10, span: float = 0.005) -> list[Step]:
    """The first contact at ``level``, then ``bounces`` more edges within ``span`` seconds."""
    step = span / bounces
    return [(level == (i % 2 == 0), start + i * step) for i in range(bounces + 1)]


# released for 0.2 s (longer than debounce_s, shorter than recover_s) once a second
FLICKER: list[Step] = [s for k in range(20) for s in ((False, 12.0 + k), (True, 12.2 + k))]

CASES: dict[str, tuple[list[Step], list[tuple[str, float]]]] = {
    "clean press": (
        [(True, 1.0), (False, 1.2), 5.0],
        [("PRESSED", 1.0), ("RELEASED", 1.23)],
    ),
    "10 bounces within 5 ms on press and on release": (
        [*chatter(1.0, True), *chatter(1.5, False), 5.0],
        [("PRESSED", 1.0), ("RELEASED", 1.535)],
    ),
    "release bounce restarts the wait": (
        [(True, 1.0), (False, 1.5), (True, 1.52), (False, 1.53), 5.0],
        [("PRESSED", 1.0), ("RELEASED", 1.56)],
    ),
    "release not reported before it is stable": (
        [(True, 1.0), (False, 1.5), 1.52],
        [("PRESSED", 1.0)],
    ),
    "repeated level is not an edge": (
        [(True, 1.0), (True, 1.1), (False, 1.2), (False, 1.21), 5.0],
        [("PRESSED", 1.0), ("RELEASED", 1.23)],
    ),
    "hold reported once": (
        [(True, 1.0), 3.0, 3.5, 4.0, (False, 4.5), 6.0],
        [("PRESSED", 1.0), ("HELD", 3.0), ("RELEASED", 4.53)],
    ),
    "short press is not held": (
        [(True, 1.0), (False, 2.9), 3.0, 9.0],
        [("PRESSED", 1.0), ("RELEASED", 2.93)],
    ),
    "chatter does not interrupt a hold": (
        [(True, 1.0), (False, 2.0), (True, 2.01), 3.5],
        [("PRESSED", 1.0), ("HELD", 3.0)],
    ),
    "stuck then recovered": (
        [(True, 1.0), 20.0, (False, 20.0), 21.0],
        [("PRESSED", 1.0), ("HELD", 3.0), ("STUCK", 11.0), ("UNSTUCK", 20.5)],
    ),
    "a stuck line that flickers floods nothing": (
        [(True, 1.0), 12.0, *FLICKER, 40.0],
        [("PRESSED", 1.0), ("HELD", 3.0), ("STUCK", 11.0)],
    ),
    "a press after recovery counts again": (
        [(True, 1.0), (False, 12.0), 13.0, (True, 14.0), (False, 14.1), 15.0],
        [("PRESSED", 1.0), ("HELD", 3.0), ("STUCK", 11.0), ("UNSTUCK", 12.5),
         ("PRESSED", 14.0), ("RELEASED", 14.13)],
    ),
    "nervous double tap is one press": (
        [(True, 1.0), (False, 1.1), (True, 1.25), (False, 1.35), 5.0],
        [("PRESSED", 1.0), ("RELEASED", 1.13)],
    ),
    "two deliberate presses one second apart": (
        [(True, 1.0), (False, 1.2), (True, 2.0), (False, 2.2), 5.0],
        [("PRESSED", 1.0), ("RELEASED", 1.23), ("PRESSED", 2.0), ("RELEASED", 2.23)],
    ),
    "swallowed press can still get stuck": (
        [(True, 1.0), (False, 1.1), (True, 1.2), 30.0, (False, 30.0), 31.0],
        [("PRESSED", 1.0), ("RELEASED", 1.13), ("STUCK", 11.2), ("UNSTUCK", 30.5)],
    ),
    "time running backwards counts as the latest time": (
        [(True, 1.0), 2.0, (False, 1.5), 3.0],
        [("PRESSED", 1.0), ("RELEASED", 2.03)],
    ),
}


@pytest.mark.parametrize(("steps", "expected"), CASES.values(), ids=CASES.keys())
def test_table(steps: list[Step], expected: list[tuple[str, float]]) -> None:
    assert run(steps) == expected


def test_chatter_helper_really_bounces() -> None:
    steps = chatter(1.0, True)
    assert len(steps) == 11 and steps[-1] == (True, pytest.approx(1.005))
    levels = [step[0] for step in steps if isinstance(step, tuple)]
    assert sum(a != b for a, b in itertools.pairwise(levels)) == 10


def test_down_at_start_is_never_a_press() -> None:
    d = Debouncer("help", CFG, pressed=True, t=100.0)
    assert run([105.0, (False, 106.0), 107.0, (True, 108.0), (False, 108.1), 109.0], d) == [
        ("PRESSED", 108.0),
        ("RELEASED", 108.13),
    ]


def test_down_at_start_becomes_stuck() -> None:
    d = Debouncer("help", CFG, pressed=True, t=100.0)
    assert run([120.0], d) == [("STUCK", 110.0)]
    assert d.stuck


def test_next_deadline_follows_the_phase() -> None:
    d = Debouncer("b", CFG)
    assert d.next_deadline() is None
    d.feed(True, 1.0)
    assert d.next_deadline() == 3.0  # hold
    d.tick(3.0)
    assert d.next_deadline() == 11.0  # stuck
    d.feed(False, 4.0)
    assert d.next_deadline() == pytest.approx(4.03)  # release confirmation
    d.feed(True, 4.01)
    d.tick(11.0)
    assert d.stuck and d.next_deadline() is None  # only an edge can end it
    d.feed(False, 12.0)
    assert d.next_deadline() == 12.5  # recovery
    d.tick(12.5)
    assert not d.stuck and d.next_deadline() is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"debounce_s": 0.0},
        {"hold_s": 0.01, "debounce_s": 0.03},
        {"stuck_s": 1.0, "hold_s": 2.0},
        {"min_interval_s": -1.0},
        {"recover_s": 0.01},
    ],
)
def test_config_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        DebounceConfig(**kwargs)


# ---- properties over arbitrary line histories ----

gaps = st.lists(st.floats(min_value=0.0001, max_value=12.0), min_size=1, max_size=60)


@given(gaps)
def test_any_history_gives_well_formed_events(gap_list: list[float]) -> None:
    d = Debouncer("b", CFG)
    t, level, events = 0.0, False, []
    for gap in gap_list:
        t, level = t + gap, not level
        events += d.feed(level, t)
    events += d.feed(False, t + 1.0) + d.tick(t + 100.0)
    kinds = [e.kind for e in events]
    times = [e.t for e in events]
    assert times == sorted(times)
    presses = [e.t for e in events if e.kind is P]
    assert all(b - a >= CFG.min_interval_s for a, b in itertools.pairwise(presses))
    assert_grammar(kinds)


def assert_grammar(kinds: list[ButtonEventKind]) -> None:
    """PRESSED [HELD] (RELEASED | STUCK UNSTUCK) and STUCK UNSTUCK, nothing else."""
    follows = {None: {P, S}, P: {H, R, S}, H: {R, S}, R: {P, S}, S: {U}, U: {P, S}}
    last: ButtonEventKind | None = None
    for kind in kinds:
        assert kind in follows[last], (last, kind)
        last = kind
    assert last in {None, R, U}  # the line ended released for long enough
