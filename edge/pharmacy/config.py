"""``[pharmacy]`` of a node's TOML: the Braille label's width, how long labels are kept,
and where the pharmacists' form listens.

>>> parse_pharmacy({"label_width": 28, "listen": "127.0.0.1:8081"}, embosser_width=40,
...                source="node.toml")
PharmacyConfig(label_width=28, keep_days=30, listen=('127.0.0.1', 8081))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_LISTEN = ("0.0.0.0", 8080)  # the puskesmas LAN: the pharmacy's PC browser


@dataclass(frozen=True)
class PharmacyConfig:
    label_width: int = 19  # cells per Braille line: a 120 mm label, 6 mm a cell
    keep_days: int = 30  # labels kept for reprint, then deleted
    listen: tuple[str, int] = DEFAULT_LISTEN


def parse_listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"expected HOST:PORT (PORT 0: any free port), got {text!r}")
    return host.strip("[]"), int(port)


def parse_pharmacy(raw: dict[str, Any] | None, *, embosser_width: int | None, source: str
                   ) -> PharmacyConfig:
    """Build ``PharmacyConfig`` (the schema has checked types and ranges); the label must
    fit the embosser's line (``embosser_width``, None: no embosser to fit)."""
    from edge.config import ConfigError  # edge.config imports this module

    raw = raw or {}
    width = raw.get("label_width", PharmacyConfig.label_width)
    if embosser_width is not None and width > embosser_width:
        raise ConfigError(f"{source}: pharmacy.label_width: {width} cells is wider than the "
                          f"embosser's line ({embosser_width} cells, embosser.width_cells)")
    try:
        listen = parse_listen(raw["listen"]) if "listen" in raw else DEFAULT_LISTEN
    except ValueError as e:
        raise ConfigError(f"{source}: pharmacy.listen: {e}") from None
    return PharmacyConfig(width, raw.get("keep_days", PharmacyConfig.keep_days), listen)
