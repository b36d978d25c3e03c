"""``brexit labels``: Braille button labels for every button of a node.

For each button: ``{board}-{button}.stl`` (a 3D-printable plate with domed Braille dots
and raised large print), ``.svg`` (for swell paper or a label embosser) and ``.brf``.
Dimensions default to Marburg Medium and may be changed within ADA 703.3::

    brexit labels --config node.toml --out labels/ --cell-spacing 6.5
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path
from typing import Any

from edge.braille.codec import BrailleError
from edge.config import ConfigError, NodeConfig, load_config, parse_config
from edge.labels.buttons import node_buttons
from edge.labels.dims import LabelDims
from edge.labels.fonts import DEFAULT_FONT
from edge.pinmap import PinMapError

DIM_OPTIONS = ("dot_base", "dot_height", "dot_spacing", "cell_spacing", "line_spacing",
               "print_height", "print_raise", "plate_thickness", "margin")


def register(sub: Any) -> None:
    p = sub.add_parser("labels", help="Braille button labels: STL, SVG and BRF",
                       description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, help="the node's TOML file (default: demo puskesmas)")
    p.add_argument("--out", type=Path, required=True, help="directory for the files")
    p.add_argument("--font", type=Path, default=DEFAULT_FONT, help="TrueType font of the print")
    defaults = LabelDims()
    for name in DIM_OPTIONS:
        p.add_argument(f"--{name.replace('_', '-')}", type=float, default=getattr(defaults, name),
                       metavar="MM", help=f"default {getattr(defaults, name)} mm")
    p.add_argument("--max-cells", type=int, default=defaults.max_cells,
                   help="Braille cells per line before a label wraps")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imported here: numpy, trimesh and fontTools would weigh on every `brexit` command
    from edge.labels.glyphs import FontError
    from edge.labels.make import make_label

    try:
        dims = LabelDims(max_cells=args.max_cells,
                         **{name: getattr(args, name) for name in DIM_OPTIONS})
        config = buttons_config(args.config)
        buttons = node_buttons(config)
        args.out.mkdir(parents=True, exist_ok=True)
        for button in buttons:
            files = make_label(button, args.out, dims, args.font)
            print(f"{files.stl.stem}: {button.text!r} → {len(files.layout.lines)} Braille "
                  f"line(s), plate {files.layout.width:.1f} × {files.layout.height:.1f} mm")
    except (ConfigError, PinMapError, FontError, BrailleError, ValueError, OSError) as e:
        print(f"brexit labels: {e}", file=sys.stderr)
        return 2
    return 0


def buttons_config(path: Path | None) -> NodeConfig:
    """The node's config without its ``[mqtt]`` table: labels need no credentials, and a
    technician makes them on a laptop that has none."""
    if path is None:
        return load_config(None)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from e
    raw.pop("mqtt", None)
    return parse_config(raw, source=str(path), base=path.parent)
