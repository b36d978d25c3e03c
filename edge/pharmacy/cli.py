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
import getpass
import json
import sqlite3
import sys
from datetime import date
from pathlib import Path
from typing import Any

from edge.braille.codec import text_to_ascii, text_to_unicode
from edge.cli import int_in
from edge.devices.state import DeviceError
from edge.pharmacy.braille_lines import MIN_WIDTH, braille_label
from edge.pharmacy.label import LabelError, parse_label
from edge.pharmacy.serve import users_db
from edge.pharmacy.spoken import label_sentence
from edge.speech.backends import DEFAULT_RATE_WPM, Utterance
from edge.speech.cli import _wav, _write
from ncc.auth import Auth, Role, check_name

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
    register_pharmacists(subparsers)


def register_pharmacists(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "pharmacist", help="pharmacists who may log in to the pharmacy form",
        description="Pharmacists of the pharmacy form (kept hashed in DATA/pharmacists.db). "
        "add: the password is read from stdin (a terminal asks for it); token: a bearer "
        "token for POST /api/v1/labels, shown once.")
    p.add_argument("--data", type=Path, default=Path("data"), help="the node's data directory")
    what = p.add_subparsers(dest="action", required=True)
    what.add_parser("add", help="add a pharmacist or set a password").add_argument("name")
    what.add_parser("token", help="a new API token for a pharmacist").add_argument("name")
    what.add_parser("list", help="the pharmacists")
    p.set_defaults(func=run_pharmacists)


def _password() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("Kata sandi: ")
    return sys.stdin.readline().rstrip("\n")


def run_pharmacists(args: argparse.Namespace) -> int:
    try:
        args.data.mkdir(parents=True, exist_ok=True)
        auth = Auth(users_db(args.data))
        if args.action == "list":
            for name, _ in auth.users():
                print(name)
        elif args.action == "add":
            auth.add_user(args.name, Role.OPERATOR, _password())
            print(f"pharmacist {args.name} can log in")
        else:
            check_name(args.name)
            print(auth.add_token(args.name, Role.OPERATOR))
    except (ValueError, OSError, sqlite3.Error) as e:
        print(f"brexit pharmacist: {e}", file=sys.stderr)
        return 2
    return 0


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
