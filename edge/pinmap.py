"""The pin map: which GPIO line every button, LED and buzzer of a node is wired to.

``hardware/pinmap.toml`` is the single source; this module loads and validates it, and
prints the technician's wiring table (``hardware/wiring.md`` is generated from it)::

    python -m edge.pinmap hardware/pinmap.toml > hardware/wiring.md

The file holds one *board* per node role (``kiosk``, ``counter``); a node loads the
board it wires with ``PinMap.load(path, board)``. The node always runs from its source
checkout (installed editable), so ``default_pinmap_path()`` finds the file relative to
this package: ``<checkout>/hardware/pinmap.toml``.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

#: Physical pin of the 40-pin header -> BCM GPIO number (power and ground pins absent).
HEADER_PIN_GPIO: Mapping[int, int] = {
    3: 2, 5: 3, 7: 4, 8: 14, 10: 15, 11: 17, 12: 18, 13: 27, 15: 22, 16: 23,
    18: 24, 19: 10, 21: 9, 22: 25, 23: 11, 24: 8, 26: 7, 27: 0, 28: 1, 29: 5,
    31: 6, 32: 12, 33: 13, 35: 19, 36: 16, 37: 26, 38: 20, 40: 21,
}
GPIO_HEADER_PIN: Mapping[int, int] = {gpio: pin for pin, gpio in HEADER_PIN_GPIO.items()}
POWER_PINS: Mapping[int, str] = {
    1: "3V3", 17: "3V3", 2: "5V", 4: "5V",
    6: "GND", 9: "GND", 14: "GND", 20: "GND", 25: "GND", 30: "GND", 34: "GND", 39: "GND",
}

#: Lines no board may use, and why (see the comment at the top of hardware/pinmap.toml).
RESERVED_GPIO: Mapping[int, str] = {
    0: "HAT ID EEPROM", 1: "HAT ID EEPROM",
    2: "I2C", 3: "I2C",
    14: "UART", 15: "UART",
    18: "I2S audio", 19: "I2S audio", 20: "I2S audio", 21: "I2S audio",
}

_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
_FIELDS = frozenset({"name", "kind", "gpio", "pin", "pull", "label", "colour"})


class PinMapError(ValueError):
    """The pin map file is wrong; the message names the board, the entry and the field."""


class LineKind(StrEnum):
    """What hangs on a GPIO line."""

    BUTTON = "button"
    LED = "led"
    BUZZER = "buzzer"


@dataclass(frozen=True)
class Line:
    """One wired GPIO line.

    >>> Line("help", LineKind.BUTTON, gpio=16, pin=36, pull="up", label="bantuan").gpio
    16
    """

    name: str
    kind: LineKind
    gpio: int
    pin: int
    pull: str | None = None
    label: str | None = None
    colour: str | None = None


@dataclass(frozen=True)
class PinMap:
    """The lines of one board, validated.

    >>> pins = PinMap.load(default_pinmap_path(), "kiosk")
    >>> pins.gpio("service-1"), sorted(pins.leds())[0]
    (17, 'led-busy')
    """

    board: str
    title: str
    lines: tuple[Line, ...]
    note: str = ""

    @classmethod
    def load(cls, path: str | Path, board: str) -> PinMap:
        boards = load_boards(path)
        if board not in boards:
            raise PinMapError(f"{path}: no board {board!r} (has: {', '.join(sorted(boards))})")
        return boards[board]

    def __iter__(self) -> Iterator[Line]:
        return iter(self.lines)

    def line(self, name: str) -> Line:
        for line in self.lines:
            if line.name == name:
                return line
        raise KeyError(f"board {self.board!r} has no line {name!r}")

    def gpio(self, name: str) -> int:
        return self.line(name).gpio

    def of_kind(self, kind: LineKind) -> tuple[Line, ...]:
        return tuple(line for line in self.lines if line.kind is kind)

    def buttons(self) -> dict[str, int]:
        """Button name -> GPIO, ready for ``ButtonPanel``."""
        return {line.name: line.gpio for line in self.of_kind(LineKind.BUTTON)}

    def leds(self) -> dict[str, int]:
        """LED name -> GPIO, ready for ``Feedback``."""
        return {line.name: line.gpio for line in self.of_kind(LineKind.LED)}

    def buzzer(self) -> int | None:
        buzzers = self.of_kind(LineKind.BUZZER)
        return buzzers[0].gpio if buzzers else None


def default_pinmap_path() -> Path:
    """``hardware/pinmap.toml``, package data of the ``hardware`` package (checkout or wheel)."""
    path = Path(str(resources.files("hardware").joinpath("pinmap.toml")))
    if not path.is_file():
        raise FileNotFoundError(f"pin map not found at {path}; reinstall brexit")
    return path


def load_boards(path: str | Path) -> dict[str, PinMap]:
    """Read and validate every board in a pin map file."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PinMapError(f"{path}: {exc}") from exc
    return parse_boards(data, source=str(path))


def parse_boards(data: Mapping[str, Any], source: str = "pin map") -> dict[str, PinMap]:
    """Validate parsed TOML (``{"boards": {name: {"title", "lines": [...]}}}``)."""
    boards = data.get("boards")
    if not isinstance(boards, dict) or not boards:
        raise PinMapError(f"{source}: no [boards.*] tables")
    return {name: _parse_board(f"{source}: board {name}", name, body)
            for name, body in boards.items()}


def _parse_board(where: str, name: str, body: Any) -> PinMap:
    if not isinstance(body, dict) or not isinstance(body.get("lines"), list):
        raise PinMapError(f"{where}: needs a [[lines]] array")
    lines = tuple(_parse_line(f"{where} line {i + 1}", raw) for i, raw in enumerate(body["lines"]))
    _check_unique(where, lines)
    title, note = str(body.get("title", name)), str(body.get("note", ""))
    return PinMap(board=name, title=title, lines=lines, note=note)


def _check_unique(where: str, lines: Sequence[Line]) -> None:
    names: set[str] = set()
    gpios: dict[int, str] = {}
    for line in lines:
        if line.name in names:
            raise PinMapError(f"{where}: {line.name}: field name: duplicate name")
        if line.gpio in gpios:
            raise PinMapError(
                f"{where}: {line.name}: field gpio: GPIO{line.gpio} already used by "
                f"{gpios[line.gpio]}"
            )
        names.add(line.name)
        gpios[line.gpio] = line.name
    if sum(line.kind is LineKind.BUZZER for line in lines) > 1:
        raise PinMapError(f"{where}: more than one buzzer")


def _parse_line(where: str, raw: Any) -> Line:
    if not isinstance(raw, dict):
        raise PinMapError(f"{where}: not a table")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise PinMapError(f"{where}: field name: {name!r} is not a lower-case name")
    where = f"{where} ({name})"
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise PinMapError(f"{where}: field {unknown[0]}: unknown field")
    kind = _kind(where, raw.get("kind"))
    gpio = _gpio(where, raw.get("gpio"))
    pin = _pin(where, raw.get("pin"), gpio)
    _check_extras(where, kind, raw)
    return Line(name, kind, gpio, pin, raw.get("pull"), raw.get("label"), raw.get("colour"))


def _kind(where: str, value: Any) -> LineKind:
    try:
        return LineKind(value)
    except ValueError:
        raise PinMapError(f"{where}: field kind: {value!r} is not button, led or buzzer") from None


def _gpio(where: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value not in GPIO_HEADER_PIN:
        raise PinMapError(f"{where}: field gpio: {value!r} is not a BCM GPIO 0-27")
    if value in RESERVED_GPIO:
        raise PinMapError(f"{where}: field gpio: GPIO{value} is kept free for "
                          f"{RESERVED_GPIO[value]}")
    return value


def _pin(where: str, value: Any, gpio: int) -> int:
    if value != GPIO_HEADER_PIN[gpio] or isinstance(value, bool):
        actual = HEADER_PIN_GPIO.get(value) if isinstance(value, int) else None
        what = f"GPIO{actual}" if actual is not None else "not a GPIO pin"
        want = GPIO_HEADER_PIN[gpio]
        raise PinMapError(f"{where}: field pin: pin {value!r} is {what}; GPIO{gpio} is pin {want}")
    return int(value)


def _check_extras(where: str, kind: LineKind, raw: Mapping[str, Any]) -> None:
    if kind is LineKind.BUTTON:
        if raw.get("pull") != "up":
            raise PinMapError(f'{where}: field pull: buttons are pull = "up" (active low)')
        label = raw.get("label")
        if not isinstance(label, str) or not label.strip():
            raise PinMapError(f"{where}: field label: a button needs its Braille label text")
    else:
        for field in ("pull", "label"):
            if field in raw:
                raise PinMapError(f"{where}: field {field}: only buttons have it")
    if (kind is LineKind.LED) != isinstance(raw.get("colour"), str):
        raise PinMapError(f"{where}: field colour: every LED, and only an LED, has a colour")


# ---- wiring table (technician docs: Bahasa Indonesia) ----

_KIND_ID = {LineKind.BUTTON: "tombol", LineKind.LED: "LED", LineKind.BUZZER: "buzzer"}
_COLOUR_ID = {"green": "hijau", "red": "merah", "amber": "kuning", "yellow": "kuning",
              "blue": "biru", "white": "putih"}


def _hookup(line: Line) -> str:
    if line.kind is LineKind.BUTTON:
        return "tombol ke GND; pull-up internal, aktif rendah"
    if line.kind is LineKind.LED:
        colour = _COLOUR_ID.get(line.colour or "", line.colour or "")
        return f"resistor 330 Ω → LED {colour} → GND"
    return "resistor 1 kΩ → basis NPN; buzzer 5 V di kolektor, dioda flyback"


def _lines_table(pins: PinMap) -> list[str]:
    rows = ["| nama | jenis | GPIO (BCM) | pin fisik | sambungan | label Braille |",
            "|---|---|---|---|---|---|"]
    for line in sorted(pins, key=lambda line: line.pin):
        label = line.label or ""
        rows.append(f"| `{line.name}` | {_KIND_ID[line.kind]} | GPIO{line.gpio} | {line.pin} | "
                    f"{_hookup(line)} | {label} |")
    return rows


def _header_cell(pin: int, used: Mapping[int, str]) -> str:
    if pin in POWER_PINS:
        return POWER_PINS[pin]
    gpio = HEADER_PIN_GPIO[pin]
    if pin in used:
        return f"GPIO{gpio} `{used[pin]}`"
    reason = RESERVED_GPIO.get(gpio)
    return f"GPIO{gpio} (bebas: {reason})" if reason else f"GPIO{gpio} (kosong)"


def _header_table(pins: PinMap) -> list[str]:
    used = {line.pin: line.name for line in pins}
    rows = ["| fungsi | pin | pin | fungsi |", "|---:|:---:|:---:|:---|"]
    for odd in range(1, 40, 2):
        rows.append(f"| {_header_cell(odd, used)} | {odd} | {odd + 1} | "
                    f"{_header_cell(odd + 1, used)} |")
    return rows


def wiring_markdown(boards: Mapping[str, PinMap], source: str = "hardware/pinmap.toml") -> str:
    """The technician's wiring document for every board, as Markdown."""
    out = [
        "# Pengkabelan GPIO BREXIT",
        "",
        f"Berkas ini dibuat otomatis dari `{source}`; jangan diubah dengan tangan. Buat ulang:",
        "",
        "    python -m edge.pinmap hardware/pinmap.toml > hardware/wiring.md",
        "",
        "Pin yang selalu dibiarkan bebas: " + ", ".join(
            f"GPIO{gpio} ({reason})" for gpio, reason in RESERVED_GPIO.items()) + ".",
        "",
        "Keluaran (LED, buzzer) memakai GPIO9 ke atas: jalur itu ditarik ke bawah saat Pi",
        "menyala, jadi buzzer tidak berbunyi dan LED tidak menyala selama booting.",
    ]
    for name, pins in boards.items():
        note = ["", pins.note] if pins.note else []
        out += ["", f"## Papan `{name}`: {pins.title}", *note, "", *_lines_table(pins), "",
                "### Header 40 pin", "", *_header_table(pins)]
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m edge.pinmap PINMAP.toml > wiring.md", file=sys.stderr)
        return 2
    try:
        boards = load_boards(args[0])
    except (OSError, PinMapError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(wiring_markdown(boards, source=args[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
