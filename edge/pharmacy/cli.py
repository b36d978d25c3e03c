"""``brexit label``: render a medicine label from its JSON, as the pharmacy node would.

    brexit label --json label.json              the Braille lines (Unicode Braille)
    brexit label --json label.json --width 19   for a 120 mm label
    brexit label --json label.json --ascii      Braille ASCII (BRF), as the embosser gets it
    brexit label --json label.json --text       the sentence the speaker says
    brexit label --json label.json --wav l.wav  that sentence as audio
    brexit label --json - < label.json          the JSON from stdin

An invalid label is refused with one line naming the field, and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from edge.braille.codec import text_to_ascii, text_to_unicode
from edge.cli import int_in
from edge.devices.state import DeviceError
from edge.pharmacy.braille_lines import MIN_WIDTH, braille_label
from edge.pharmacy.label import LabelError, parse_label
from edge.pharmacy.spoken import label_sentence
from edge.speech.backends import DEFAULT_RATE_WPM, Utterance
from edge.speech.cli import _wav, _write

MAX_WIDTH = 80


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("label", help="render a Braille medicine label (etiket obat)",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", required=True, metavar="FILE", help="the label's JSON ('-': stdin)")
    p.add_argument("--width", type=int_in(MIN_WIDTH, MAX_WIDTH), default=28,
                   metavar="CELLS", help=f"cells per Braille line, {MIN_WIDTH}..{MAX_WIDTH} "
                   "(default 28; a 120 mm label holds 19)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--ascii", action="store_true", help="Braille ASCII instead of Unicode")
    out.add_argument("--text", action="store_true", help="print the spoken sentence")
    out.add_argument("--wav", type=_wav, metavar="FILE", help="write the spoken label as WAV")
    p.add_argument("--voice", default="id", help="espeak-ng voice (default: id)")
    p.set_defaults(func=run)


def _read(name: str) -> Any:
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except OSError as e:
        raise ValueError(f"cannot read {name}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{name}: not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{name}: not valid JSON: {e}") from None


def run(args: argparse.Namespace) -> int:
    try:
        label = parse_label(_read(args.json), today=date.today())
        lines = braille_label(label, args.width).lines
    except (LabelError, ValueError) as e:
        print(f"brexit label: {e}", file=sys.stderr)
        return 2
    if args.text:
        print(label_sentence(label))
    elif args.wav is not None:
        try:
            _write(Utterance(label_sentence(label), "pharmacy"), args.wav, args.voice,
                   DEFAULT_RATE_WPM)
        except (DeviceError, OSError) as e:
            print(f"brexit label: cannot write {args.wav}: {e}", file=sys.stderr)
            return 1
    else:
        render = text_to_ascii if args.ascii else text_to_unicode
        for line in lines:
            print(render(line))
    return 0
