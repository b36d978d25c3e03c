"""Where everything sits on a label plate: pure geometry, no mesh.

The plate's lower-left corner is the origin, y points up, z up from the plate's back.
The raised print is at the top; the Braille below it, left-aligned with it and 9.5 mm clear
of the lowest descender (ADA 703.4.1). Dot ``d`` (1–6) of cell ``c`` on line ``l`` sits at
``x = x0 + c·cell_spacing + (d > 3)·dot_spacing`` and
``y = y0 − l·line_spacing − ((d − 1) mod 3)·dot_spacing``.

>>> lay = plate_layout("Ulangi", print_width=lambda line: 30.0, dims=LabelDims())
>>> len(lay.lines), lay.dots[0].line, lay.dots[0].cell, lay.dots[0].dot
(1, 0, 0, 6)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from edge.braille.codec import encode
from edge.braille.layout import wrap
from edge.labels.dims import LabelDims

BRAILLE_CLEARANCE = 9.5  # mm from any raised letter to the Braille (ADA 703.4.1: 3/8 in)
DESCENT = 0.33  # a descender's depth in cap heights (DejaVu Sans: 0.236 em / 0.729 em)
PRINT_LEADING = 1.6  # print line pitch, in cap heights


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    line: int
    cell: int
    dot: int  # 1–6


@dataclass(frozen=True)
class PlateLayout:
    """The plate's size, the Braille's origin and dots, and the print lines' baselines.

    The raised print has the same lines as the Braille, one above the other.
    """

    text: str
    lines: tuple[str, ...]  # the label text wrapped to Braille lines
    masks: tuple[tuple[int, ...], ...]  # per line, dot masks
    dims: LabelDims
    width: float
    height: float
    x0: float  # centre of dot 1 of the first cell of the first line
    y0: float
    baselines: tuple[float, ...]  # y of each print line's baseline, first line on top
    dots: tuple[Dot, ...]


def dot_position(dims: LabelDims, x0: float, y0: float, line: int, cell: int,
                 dot: int) -> tuple[float, float]:
    column, row = divmod(dot - 1, 3)
    return (x0 + cell * dims.cell_spacing + column * dims.dot_spacing,
            y0 - line * dims.line_spacing - row * dims.dot_spacing)


def plate_layout(text: str, *, print_width: Callable[[str], float],
                 dims: LabelDims) -> PlateLayout:
    """Lay out ``text``; ``print_width(line)`` is the width of a line's raised print (mm)."""
    lines = tuple(wrap(text, dims.max_cells, break_long_words=True))
    if not lines:
        raise ValueError("a label needs some text")
    masks = tuple(tuple(encode(line)) for line in lines)
    cells = max(len(m) for m in masks)
    braille_w = (cells - 1) * dims.cell_spacing + dims.dot_spacing + dims.dot_base
    braille_h = (len(lines) - 1) * dims.line_spacing + 2 * dims.dot_spacing + dims.dot_base
    m, r = dims.margin, dims.dot_radius
    x0 = m + r
    y0 = m + braille_h - r
    pitch = PRINT_LEADING * dims.print_height
    lowest = m + braille_h + BRAILLE_CLEARANCE + DESCENT * dims.print_height
    baselines = tuple(lowest + (len(lines) - 1 - i) * pitch for i in range(len(lines)))
    width = 2 * m + max(braille_w, *(print_width(line) for line in lines))
    height = baselines[0] + dims.print_height + m
    dots = tuple(
        Dot(*dot_position(dims, x0, y0, li, ci, d), line=li, cell=ci, dot=d)
        for li, line_masks in enumerate(masks)
        for ci, mask in enumerate(line_masks)
        for d in range(1, 7) if mask & (1 << (d - 1))
    )
    return PlateLayout(text, lines, masks, dims, width, height, x0, y0, baselines, dots)


def read_dots(points: list[tuple[float, float]], *, dims: LabelDims, x0: float,
              y0: float, tolerance: float = 0.3) -> tuple[tuple[int, ...], ...]:
    """Back from dot centres to masks per line: what a finger reads on the plate.

    A point off the Braille grid by more than ``tolerance`` mm is a ValueError.
    """
    cells: dict[tuple[int, int], int] = {}
    for x, y in points:
        line = int((y0 - y + dims.dot_spacing) // dims.line_spacing)
        row = round((y0 - y - line * dims.line_spacing) / dims.dot_spacing)
        cell = int((x - x0 + dims.dot_spacing) // dims.cell_spacing)
        column = round((x - x0 - cell * dims.cell_spacing) / dims.dot_spacing)
        gx, gy = dot_position(dims, x0, y0, line, cell, column * 3 + row + 1)
        if not (0 <= row <= 2 and 0 <= column <= 1) or abs(gx - x) > tolerance or abs(
                gy - y) > tolerance:
            raise ValueError(f"a dot at ({x:.2f}, {y:.2f}) is off the Braille grid")
        cells[line, cell] = cells.get((line, cell), 0) | 1 << (column * 3 + row)
    lines = 1 + max((line for line, _ in cells), default=-1)
    out = []
    for line in range(lines):
        width = 1 + max((c for li, c in cells if li == line), default=-1)
        out.append(tuple(cells.get((line, c), 0) for c in range(width)))
    return tuple(out)
