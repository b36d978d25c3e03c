"""Every label of a node: one STL, one SVG and one BRF per button, named by the button.

>>> # brexit labels --config node.toml --out labels/; see edge/labels/cli.py
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edge.labels.brf import label_brf
from edge.labels.buttons import ButtonLabel
from edge.labels.dims import LabelDims
from edge.labels.fonts import DEFAULT_FONT
from edge.labels.glyphs import Outline, text_outline
from edge.labels.layout import PlateLayout, plate_layout
from edge.labels.mesh import stl_bytes
from edge.labels.svg import label_svg


@dataclass(frozen=True)
class LabelFiles:
    button: ButtonLabel
    layout: PlateLayout
    stl: Path
    svg: Path
    brf: Path


def placed_print(layout: PlateLayout, font: Path) -> list[Outline]:
    """Each print line's outline at its place: left margin, its baseline."""
    return [text_outline(line, cap_height=layout.dims.print_height, font=font)
            .moved(layout.dims.margin, baseline)
            for line, baseline in zip(layout.lines, layout.baselines, strict=True)]


def layout_for(text: str, dims: LabelDims, font: Path) -> PlateLayout:
    return plate_layout(
        text, dims=dims,
        print_width=lambda line: text_outline(line, cap_height=dims.print_height,
                                              font=font).width)


def make_label(button: ButtonLabel, out_dir: Path, dims: LabelDims,
               font: Path = DEFAULT_FONT) -> LabelFiles:
    layout = layout_for(button.text, dims, font)
    outlines = placed_print(layout, font)
    stem = out_dir / f"{button.board}-{button.button}"
    files = LabelFiles(button, layout, stem.with_suffix(".stl"), stem.with_suffix(".svg"),
                       stem.with_suffix(".brf"))
    files.stl.write_bytes(stl_bytes(layout, outlines))
    files.svg.write_text(label_svg(layout, outlines), encoding="utf-8")
    files.brf.write_bytes(label_brf(layout.lines).encode("ascii"))
    return files
