"""The buttons a node's config uses, each with the words on its label.

Service buttons carry their service's ``braille_label``; the other buttons (repeat, help,
the counter buttons) carry the pin map's ``label``. The self-test asks for the buttons in
this order ("tekan tombol Poli Umum").

>>> from edge.config import load_config
>>> [(b.button, b.text) for b in node_buttons(load_config(None))][:2]
[('service-1', 'Poli Umum'), ('service-2', 'Poli Gigi')]
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.config import NodeConfig
from edge.pinmap import PinMap, default_pinmap_path

COUNTER_ACTIONS = ("next", "recall", "skip", "done")


@dataclass(frozen=True)
class ButtonLabel:
    """One button: its board, its pin-map name and the words on its label."""

    board: str  # "kiosk" or "counter"
    button: str  # pin-map name: "service-1", "repeat", "next-2"
    text: str  # "Poli Umum", "Ulangi", "Berikut 2"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def node_buttons(config: NodeConfig) -> tuple[ButtonLabel, ...]:
    """Every button of the node's boards that its roles use, in a technician's order."""
    path = config.pinmap or default_pinmap_path()
    out: list[ButtonLabel] = []
    if "kiosk" in config.roles:
        pins = PinMap.load(path, "kiosk")
        out += [ButtonLabel("kiosk", s.button, s.braille_label) for s in config.services]
        out += [ButtonLabel("kiosk", name, _label(pins, name)) for name in ("repeat", "help")]
    if "caller" in config.roles:
        pins = PinMap.load(path, "counter")
        out += [ButtonLabel("counter", c.button(a), _label(pins, c.button(a)))
                for c in config.counters for a in COUNTER_ACTIONS]
    return tuple(out)


def _label(pins: PinMap, name: str) -> str:
    line = pins.line(name)
    return _capital(line.label or name)
