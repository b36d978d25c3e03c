"""Braille button labels: every STL watertight, its dots read back from the mesh into the
label's text; the SVG's dots likewise; the BRF back-translates."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import trimesh

from edge.braille.codec import ascii_to_text, decode
from edge.cli import main
from edge.config import load_config
from edge.labels.buttons import node_buttons
from edge.labels.dims import DimsError, LabelDims
from edge.labels.layout import PlateLayout, read_dots
from edge.labels.make import LabelFiles, make_label

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> list[LabelFiles]:
    out = tmp_path_factory.mktemp("labels")
    dims = LabelDims(cell_spacing=6.5, dot_height=0.8)
    return [make_label(b, out, dims) for b in node_buttons(load_config(None))]


def _text(layout: PlateLayout, masks: tuple[tuple[int, ...], ...]) -> tuple[str, ...]:
    return tuple(decode(line) for line in masks)


def dome_tops(mesh: trimesh.Trimesh, dims: LabelDims) -> list[tuple[float, float]]:
    """The dots as a finger finds them: the highest points at the dots' height."""
    top = dims.plate_thickness + dims.dot_height
    near = mesh.vertices[np.abs(mesh.vertices[:, 2] - top) < 1e-3]
    unique = np.unique(np.round(near[:, :2], 2), axis=0)
    return [(float(x), float(y)) for x, y in unique]


def test_every_button_of_both_boards_gets_three_files(made: list[LabelFiles]) -> None:
    names = [f.stl.name for f in made]
    assert names[:6] == ["kiosk-service-1.stl", "kiosk-service-2.stl", "kiosk-service-3.stl",
                         "kiosk-service-4.stl", "kiosk-repeat.stl", "kiosk-help.stl"]
    assert len(made) == 6 + 2 * 4
    assert all(f.svg.is_file() and f.brf.is_file() for f in made)


def test_every_stl_is_watertight_and_its_dots_read_back(made: list[LabelFiles]) -> None:
    for files in made:
        lay = files.layout
        mesh = trimesh.load(files.stl, file_type="stl")
        assert mesh.is_watertight and mesh.is_volume, files.stl.name
        tops = dome_tops(mesh, lay.dims)
        assert len(tops) == len(lay.dots)
        masks = read_dots(tops, dims=lay.dims, x0=lay.x0, y0=lay.y0)
        assert " ".join(_text(lay, masks)) == files.button.text, files.stl.name


def test_stl_has_raised_print_and_domed_dots(made: list[LabelFiles]) -> None:
    files = made[0]  # Poli Umum
    dims = files.layout.dims
    mesh = trimesh.load(files.stl, file_type="stl")
    z = mesh.vertices[:, 2]
    assert z.max() == pytest.approx(dims.plate_thickness + dims.print_raise)
    # a dome: base 1.5 mm wide at the plate, 0.8 mm tall
    x, y = dome_tops(mesh, dims)[0]
    around = mesh.vertices[np.hypot(mesh.vertices[:, 0] - x, mesh.vertices[:, 1] - y) < 1.0]
    rim = around[np.abs(around[:, 2] - dims.plate_thickness) < 1e-3]
    radii = np.hypot(rim[:, 0] - x, rim[:, 1] - y)
    assert radii.max() == pytest.approx(dims.dot_base / 2, abs=0.05)


def test_raised_print_is_9_5_mm_clear_of_the_braille(made: list[LabelFiles]) -> None:
    for files in made:  # "Panggil ulang 1" has descenders
        dims = files.layout.dims
        mesh = trimesh.load(files.stl, file_type="stl")
        z = mesh.vertices[:, 2]
        print_top = mesh.vertices[np.abs(z - (dims.plate_thickness + dims.print_raise)) < 1e-4]
        braille_top = files.layout.y0 + dims.dot_base / 2
        assert print_top[:, 1].min() - braille_top >= 9.5, files.stl.name  # ADA 703.4.1


def test_svg_dots_read_back(made: list[LabelFiles]) -> None:
    for files in made:
        lay = files.layout
        root = ET.parse(files.svg).getroot()
        assert root.get("width") == f"{lay.width:.3f}".rstrip("0").rstrip(".") + "mm"
        circles = [c for c in root.iter(f"{SVG}circle") if c.get("class") == "dot"]
        radii = {float(c.get("r", "0")) for c in circles}
        assert radii == {lay.dims.dot_base / 2}
        points = [(float(c.get("cx", "0")), lay.height - float(c.get("cy", "0")))
                  for c in circles]
        masks = read_dots(points, dims=lay.dims, x0=lay.x0, y0=lay.y0)
        assert " ".join(_text(lay, masks)) == files.button.text
        assert [p for p in root.iter(f"{SVG}path") if p.get("class") == "print"]


def test_brf_back_translates(made: list[LabelFiles]) -> None:
    for files in made:
        raw = files.brf.read_bytes().decode("ascii")
        assert raw.endswith("\r\n\f")
        lines = raw[:-1].split("\r\n")[:-1]
        assert " ".join(ascii_to_text(line) for line in lines) == files.button.text


def test_a_long_label_wraps_onto_braille_lines_10_mm_apart(made: list[LabelFiles]) -> None:
    recall = next(f for f in made if f.button.button == "recall-1")
    assert recall.layout.lines == ("Panggil", "ulang 1")
    ys = sorted({round(d.y, 3) for d in recall.layout.dots if d.dot == 1})
    assert ys[-1] - ys[0] == pytest.approx(recall.layout.dims.line_spacing)


@pytest.mark.parametrize(("field", "value"), [
    ("dot_base", 1.0), ("dot_height", 1.2), ("dot_spacing", 3.0), ("cell_spacing", 5.5),
    ("line_spacing", 12.0), ("print_raise", 0.3),
])
def test_dimensions_outside_the_standards_are_refused(field: str, value: float) -> None:
    with pytest.raises(DimsError, match=f"^{field}: {value} mm is outside"):
        LabelDims(**{field: value})


def test_cli_makes_labels_and_refuses_bad_dimensions(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = Path(__file__).resolve().parents[1] / "deploy" / "examples" / "janti-kios-1.toml"
    assert main(["labels", "--config", str(config), "--out", str(tmp_path / "a")]) == 0
    assert sorted(p.name for p in (tmp_path / "a").glob("*.stl"))[0] == "kiosk-help.stl"
    capsys.readouterr()
    assert main(["labels", "--out", str(tmp_path / "b"), "--cell-spacing", "9"]) == 2
    err = capsys.readouterr().err
    assert err == ("brexit labels: cell_spacing: 9.0 mm is outside 6.0–7.0 mm "
                   "(ADA 703.3 / Marburg Medium)\n")


def test_brexit_starts_without_the_mesh_libraries() -> None:
    """numpy, trimesh, manifold3d and fontTools load only for `brexit labels` (node RSS)."""
    code = ("import sys, edge.cli; edge.cli.build_parser(); "
            "print(sorted(m for m in ('numpy', 'trimesh', 'manifold3d', 'fontTools') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
