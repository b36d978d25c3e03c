"""``brexit braille``: translate text to Indonesian Braille and back.

$ brexit braille "A-007"
⠠⠁⠤⠼⠚⠚⠛
$ brexit braille --ascii "Poli Umum"
,POLI ,UMUM
$ brexit braille --back "⠠⠁⠤⠼⠚⠚⠛"
A-007
$ brexit braille --ascii --back ",A-#JJG"
A-007
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from edge.braille import codec


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "braille",
        help="translate text to Indonesian Braille (Unicode or Braille ASCII) and back",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("text", nargs="?", help="text to translate into Braille")
    parser.add_argument(
        "--ascii", action="store_true", help="use North American Braille ASCII (BRF)"
    )
    parser.add_argument(
        "--back",
        metavar="CELLS",
        help="back-translate CELLS (Unicode Braille, or Braille ASCII with --ascii)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if (args.text is None) == (args.back is None):
        return _fail("give either TEXT or --back CELLS")
    try:
        print(_translate(args))
    except codec.BrailleError as err:
        return _fail(str(err))
    return 0


def _translate(args: argparse.Namespace) -> str:
    if args.back is not None:
        return codec.ascii_to_text(args.back) if args.ascii else codec.unicode_to_text(args.back)
    return codec.text_to_ascii(args.text) if args.ascii else codec.text_to_unicode(args.text)


def _fail(message: str) -> int:
    print(f"brexit braille: error: {message}", file=sys.stderr)
    return 2
