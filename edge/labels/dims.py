"""Physical dimensions of a Braille label, checked against ADA 703.3 / Marburg Medium.

Everything is in millimetres. A value outside the standards is refused with one message
naming it and its allowed range:

>>> LabelDims(cell_spacing=8.0)
Traceback (most recent call last):
...
edge.labels.dims.DimsError: cell_spacing: 8.0 mm is outside 6.0–7.0 mm (ADA 703.3 / Marburg Medium)
"""

from __future__ import annotations

from dataclasses import dataclass, fields

# name -> (lowest, highest) allowed, mm
BRAILLE_LIMITS: dict[str, tuple[float, float]] = {
    "dot_base": (1.4, 1.6),  # dot base diameter (Marburg Medium 1.4–1.6, ADA 1.5–1.6)
    "dot_height": (0.6, 0.9),  # domed dot height
    "dot_spacing": (2.3, 2.5),  # dot to dot in a cell (Marburg 2.5, ADA 2.3–2.5)
    "cell_spacing": (6.0, 7.0),  # cell to cell, same dot (Marburg 6.0–7.0, ADA 6.1–7.6)
    "line_spacing": (10.0, 10.2),  # line to line, same dot (ADA 10.0–10.2)
}
# Raised large print and the plate itself (ADA 703.2: raised 0.8 mm minimum).
OTHER_LIMITS: dict[str, tuple[float, float]] = {
    "print_height": (5.0, 51.0),  # cap height of the raised letters
    "print_raise": (0.8, 1.5),
    "plate_thickness": (1.5, 5.0),
    "margin": (2.0, 20.0),
    "max_cells": (4, 40),
}


class DimsError(ValueError):
    """A dimension outside the standards."""


@dataclass(frozen=True)
class LabelDims:
    """The label's dimensions (mm); defaults are Marburg Medium.

    >>> LabelDims().dot_base, LabelDims().cell_spacing
    (1.5, 6.2)
    """

    dot_base: float = 1.5
    dot_height: float = 0.7
    dot_spacing: float = 2.5
    cell_spacing: float = 6.2
    line_spacing: float = 10.0
    print_height: float = 8.0
    print_raise: float = 1.0
    plate_thickness: float = 2.0
    margin: float = 4.0
    max_cells: int = 12  # cells per Braille line before the label wraps

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            low, high = {**BRAILLE_LIMITS, **OTHER_LIMITS}[f.name]
            if not low <= value <= high:
                source = "ADA 703.3 / Marburg Medium" if f.name in BRAILLE_LIMITS else "label"
                raise DimsError(f"{f.name}: {value} mm is outside {low}–{high} mm ({source})")
        if self.cell_spacing < self.dot_spacing + self.dot_base + 1.0:
            raise DimsError("cell_spacing: cells would touch")

    @property
    def dot_radius(self) -> float:
        return self.dot_base / 2

    @property
    def dome_radius(self) -> float:
        """Radius of the sphere whose cap is the dot: base ``dot_base``, height ``dot_height``."""
        a, h = self.dot_radius, self.dot_height
        return (a * a + h * h) / (2 * h)
