"""The label as an SVG drawing in millimetres, for swell paper or a label embosser.

Black is what rises: each Braille dot a filled ``<circle class="dot">`` of the dot's base
diameter, the print a filled ``<path class="print">`` (non-zero fill); the plate's outline
is a thin cut line. SVG's y axis points down, so y is mirrored from the plate layout.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from edge.labels.glyphs import Outline
from edge.labels.layout import PlateLayout


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def label_svg(layout: PlateLayout, print_lines: list[Outline]) -> str:
    w, h = layout.width, layout.height
    r = layout.dims.dot_radius
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(w)}mm" height="{_num(h)}mm" '
        f'viewBox="0 0 {_num(w)} {_num(h)}">',
        f"<title>{escape(layout.text)}</title>",
        f'<rect class="plate" x="0" y="0" width="{_num(w)}" height="{_num(h)}" fill="none" '
        'stroke="#888" stroke-width="0.1"/>',
    ]
    for outline in print_lines:
        d = " ".join("M " + " L ".join(f"{_num(x)} {_num(h - y)}" for x, y in c) + " Z"
                     for c in outline.contours)
        if d:
            out.append(f'<path class="print" fill="#000" fill-rule="nonzero" d="{d}"/>')
    out += [f'<circle class="dot" cx="{_num(dot.x)}" cy="{_num(h - dot.y)}" r="{_num(r)}" '
            'fill="#000"/>' for dot in layout.dots]
    out.append("</svg>")
    return "\n".join(out) + "\n"
