"""Raised large print: a font's glyph outlines as flat polygons (mm), through fontTools.

The outlines keep TrueType's winding (outer contours one way, holes the other), so they
are filled with the non-zero rule, by manifold3d for the mesh and by SVG for the drawing.
DejaVu Sans Bold (Debian's fonts-dejavu-core) is the default: a plain sans-serif, as
ADA 703.2.3 asks.

>>> outline = text_outline("KIA", cap_height=10.0)
>>> round(outline.width, 1), len(outline.contours) >= 3
(27.4, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fontTools.pens.basePen import BasePen
from fontTools.ttLib import TTFont

from edge.labels.fonts import DEFAULT_FONT

CURVE_STEPS = 8  # straight segments per Bézier curve: < 0.05 mm error at 8 mm letters

Point = tuple[float, float]


class FontError(ValueError):
    """The font cannot be read or has no glyph for a character."""


@dataclass(frozen=True)
class Outline:
    """Closed contours (mm, baseline at y = 0, starting at x = 0) and the advance width."""

    contours: tuple[tuple[Point, ...], ...]
    width: float

    def moved(self, dx: float, dy: float) -> Outline:
        return Outline(tuple(tuple((x + dx, y + dy) for x, y in c) for c in self.contours),
                       self.width)


class _FlatPen(BasePen):
    """Records contours, flattening curves into straight segments."""

    def __init__(self, glyph_set: object, scale: float, dx: float) -> None:
        super().__init__(glyph_set)
        self.contours: list[list[Point]] = []
        self._scale, self._dx = scale, dx

    def _point(self, pt: tuple[float, float]) -> Point:
        return (self._dx + pt[0] * self._scale, pt[1] * self._scale)

    def _moveTo(self, pt: tuple[float, float]) -> None:
        self.contours.append([self._point(pt)])

    def _lineTo(self, pt: tuple[float, float]) -> None:
        self.contours[-1].append(self._point(pt))

    def _curveToOne(self, p1: tuple[float, float], p2: tuple[float, float],
                    p3: tuple[float, float]) -> None:
        p0 = self._getCurrentPoint()
        for i in range(1, CURVE_STEPS + 1):
            t = i / CURVE_STEPS
            u = 1 - t
            x = u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0]
            y = u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1]
            self.contours[-1].append(self._point((x, y)))

    def _closePath(self) -> None:
        contour = self.contours[-1]
        if len(contour) > 1 and contour[0] == contour[-1]:
            contour.pop()

    _endPath = _closePath


def _load(font: Path) -> TTFont:
    try:
        return TTFont(str(font))
    except (OSError, Exception) as e:
        raise FontError(f"cannot read font {font}: {e}") from e


def text_outline(text: str, *, cap_height: float, font: Path = DEFAULT_FONT) -> Outline:
    """The outline of one line of ``text`` whose capitals are ``cap_height`` mm tall."""
    tt = _load(font)
    glyph_set = tt.getGlyphSet()
    cmap = tt.getBestCmap()
    os2 = tt["OS/2"]
    cap_units = getattr(os2, "sCapHeight", 0) or 0.7 * tt["head"].unitsPerEm
    scale = cap_height / cap_units
    pen_x = 0.0
    contours: list[Sequence[Point]] = []
    for char in text:
        name = cmap.get(ord(char))
        if name is None:
            raise FontError(f"font {font.name} has no glyph for {char!r}")
        pen = _FlatPen(glyph_set, scale, pen_x)
        glyph_set[name].draw(pen)
        contours += [c for c in pen.contours if len(c) >= 3]
        pen_x += glyph_set[name].width * scale
    return Outline(tuple(tuple(c) for c in contours), pen_x)
