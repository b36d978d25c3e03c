"""The pin map: the committed file, its validation, and the generated wiring document."""

from __future__ import annotations

import copy
import dataclasses
import queue
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from edge.devices.buttons import ButtonPanel
from edge.devices.debounce import ButtonEvent
from edge.devices.feedback import Feedback
from edge.pinmap import (
    GPIO_HEADER_PIN,
    HEADER_PIN_GPIO,
    POWER_PINS,
    RESERVED_GPIO,
    LineKind,
    PinMap,
    PinMapError,
    default_pinmap_path,
    load_boards,
    parse_boards,
    wiring_markdown,
)

ROOT = Path(__file__).resolve().parent.parent
OUTPUTS = {"buzzer", "led-ready", "led-fault", "led-busy"}
KIOSK = {f"service-{n}" for n in range(1, 7)} | {"repeat", "help"} | OUTPUTS
COUNTER = {f"{action}-{n}" for action in ("next", "recall", "skip", "done") for n in range(1, 5)}


@pytest.fixture(scope="module")
def boards() -> dict[str, PinMap]:
    return load_boards(default_pinmap_path())


def test_default_path_is_the_checkout_file() -> None:
    assert default_pinmap_path() == ROOT / "hardware" / "pinmap.toml"


def test_kiosk_board_has_every_name(boards: dict[str, PinMap]) -> None:
    assert {line.name for line in boards["kiosk"]} == KIOSK


def test_counter_board_has_four_counters_buzzer_and_fault_led(boards: dict[str, PinMap]) -> None:
    assert {line.name for line in boards["counter"]} == COUNTER | {"buzzer", "led-fault"}


@pytest.mark.parametrize(("gpio", "pin"), [(2, 3), (4, 7), (14, 8), (17, 11), (18, 12),
                                           (9, 21), (0, 27), (5, 29), (12, 32), (21, 40)])
def test_header_table_matches_the_pi_pinout(gpio: int, pin: int) -> None:
    assert GPIO_HEADER_PIN[gpio] == pin


def test_header_table_covers_the_40_pins_once() -> None:
    assert sorted(GPIO_HEADER_PIN) == list(range(28))
    assert sorted([*HEADER_PIN_GPIO, *POWER_PINS]) == list(range(1, 41))


def test_no_board_touches_uart_i2c_i2s_or_hat_id(boards: dict[str, PinMap]) -> None:
    assert set(RESERVED_GPIO) == {0, 1, 2, 3, 14, 15, 18, 19, 20, 21}
    for pins in boards.values():
        assert not {line.gpio for line in pins} & set(RESERVED_GPIO)


def test_outputs_sit_on_lines_pulled_down_at_boot(boards: dict[str, PinMap]) -> None:
    for pins in boards.values():
        for line in pins:
            assert line.kind is LineKind.BUTTON or line.gpio >= 9, line.name


def test_buttons_carry_pull_up_and_a_label(boards: dict[str, PinMap]) -> None:
    for pins in boards.values():
        for line in pins.of_kind(LineKind.BUTTON):
            assert line.pull == "up" and line.label
    counter = boards["counter"]
    assert all(counter.line(name).label.endswith(name[-1]) for name in COUNTER)  # type: ignore[union-attr]


def test_lookups(boards: dict[str, PinMap]) -> None:
    kiosk = boards["kiosk"]
    assert kiosk.gpio("service-1") == 17 and kiosk.line("help").pin == 36
    assert set(kiosk.buttons()) == KIOSK - OUTPUTS
    assert set(kiosk.leds()) == OUTPUTS - {"buzzer"}
    assert kiosk.buzzer() == kiosk.gpio("buzzer")
    assert kiosk.leds()["led-fault"] == boards["counter"].leds()["led-fault"]
    with pytest.raises(KeyError, match="next-1"):
        kiosk.gpio("next-1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        kiosk.lines[0].gpio = 4  # type: ignore[misc]


def test_load_one_board_and_refuse_an_unknown_one() -> None:
    assert PinMap.load(default_pinmap_path(), "counter").gpio("done-4") == 16
    with pytest.raises(PinMapError, match="pharmacy"):
        PinMap.load(default_pinmap_path(), "pharmacy")


@pytest.mark.parametrize("board", ["kiosk", "counter"])
def test_a_whole_board_opens_on_one_header(boards: dict[str, PinMap], board: str) -> None:
    pins, factory = boards[board], MockFactory()
    sink: queue.Queue[ButtonEvent] = queue.Queue()
    buzzer = pins.buzzer()
    assert buzzer is not None
    with ButtonPanel(pins.buttons(), sink=sink, pin_factory=factory), Feedback(
        buzzer, pins.leds(), pin_factory=factory
    ):
        assert len(factory.pins) == len(pins.lines)


# ---- validation ----

GOOD: dict[str, Any] = {
    "boards": {
        "kiosk": {
            "title": "t",
            "lines": [
                {"name": "help", "kind": "button", "gpio": 16, "pin": 36, "pull": "up",
                 "label": "bantuan"},
                {"name": "led-fault", "kind": "led", "gpio": 24, "pin": 18, "colour": "red"},
                {"name": "buzzer", "kind": "buzzer", "gpio": 12, "pin": 32},
            ],
        }
    }
}


def with_line(index: int, **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(GOOD)
    line = data["boards"]["kiosk"]["lines"][index]
    for key, value in changes.items():
        if value is None:
            line.pop(key)
        else:
            line[key] = value
    return data


def with_extra(line: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(GOOD)
    data["boards"]["kiosk"]["lines"].append(line)
    return data


BAD: dict[str, tuple[dict[str, Any], str]] = {
    "duplicate name": (
        with_extra({"name": "help", "kind": "button", "gpio": 26, "pin": 37, "pull": "up",
                    "label": "x"}),
        "help: field name: duplicate",
    ),
    "duplicate gpio": (
        with_extra({"name": "repeat", "kind": "button", "gpio": 16, "pin": 36, "pull": "up",
                    "label": "x"}),
        "repeat: field gpio: GPIO16 already used by help",
    ),
    "gpio out of range": (with_line(0, gpio=28), "(help): field gpio: 28 is not a BCM GPIO"),
    "gpio not a number": (with_line(0, gpio="16"), "(help): field gpio"),
    "gpio reserved for UART": (
        with_line(0, gpio=14, pin=8), "(help): field gpio: GPIO14 is kept free for UART"
    ),
    "gpio reserved for I2S": (
        with_line(2, gpio=18, pin=12), "(buzzer): field gpio: GPIO18 is kept free for I2S"
    ),
    "pin of another gpio": (
        with_line(0, pin=37), "(help): field pin: pin 37 is GPIO26; GPIO16 is pin 36"
    ),
    "pin is ground": (with_line(0, pin=34), "(help): field pin: pin 34 is not a GPIO pin"),
    "unknown kind": (with_line(0, kind="switch"), "(help): field kind"),
    "button without pull-up": (with_line(0, pull="down"), "(help): field pull"),
    "button without label": (with_line(0, label=None), "(help): field label"),
    "led with pull": (with_line(1, pull="up"), "(led-fault): field pull"),
    "led without colour": (with_line(1, colour=None), "(led-fault): field colour"),
    "buzzer with colour": (with_line(2, colour="red"), "(buzzer): field colour"),
    "typo in a field": (with_line(1, color="red"), "(led-fault): field color: unknown"),
    "upper-case name": (with_line(0, name="Help"), "line 1: field name"),
    "two buzzers": (
        with_extra({"name": "buzzer-2", "kind": "buzzer", "gpio": 13, "pin": 33}),
        "more than one buzzer",
    ),
    "no boards": ({"board": {}}, "no [boards.*]"),
}


def test_good_table_is_good() -> None:
    assert parse_boards(GOOD)["kiosk"].gpio("help") == 16


@pytest.mark.parametrize(("data", "message"), BAD.values(), ids=BAD.keys())
def test_validation_names_entry_and_field(data: dict[str, Any], message: str) -> None:
    with pytest.raises(PinMapError) as caught:
        parse_boards(data, source="x.toml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("x.toml")


def test_broken_toml_is_a_pin_map_error(tmp_path: Path) -> None:
    path = tmp_path / "pinmap.toml"
    path.write_text("[boards.kiosk\n", encoding="utf-8")
    with pytest.raises(PinMapError, match=r"pinmap\.toml"):
        load_boards(path)


# ---- the generated wiring document ----


def test_committed_wiring_md_is_up_to_date(boards: dict[str, PinMap]) -> None:
    committed = (ROOT / "hardware" / "wiring.md").read_text(encoding="utf-8")
    assert committed == wiring_markdown(boards, source="hardware/pinmap.toml"), (
        "regenerate: python -m edge.pinmap hardware/pinmap.toml > hardware/wiring.md"
    )


def test_wiring_lists_every_line_on_its_header_pin(boards: dict[str, PinMap]) -> None:
    text = wiring_markdown(boards)
    for pins in boards.values():
        for line in pins:
            assert f"| `{line.name}` | " in text
            row = f"GPIO{line.gpio} `{line.name}`"
            assert row in text


def test_cli_prints_the_document_and_reports_errors(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "edge.pinmap"]
    done = subprocess.run([*run, "hardware/pinmap.toml"], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    assert done.stdout == (ROOT / "hardware" / "wiring.md").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text('[boards.k]\nlines = [{name = "x", kind = "led", gpio = 99, pin = 1}]\n')
    failed = subprocess.run([*run, str(bad)], cwd=ROOT, capture_output=True, text=True)
    assert failed.returncode == 1 and "field gpio" in failed.stderr and not failed.stdout
