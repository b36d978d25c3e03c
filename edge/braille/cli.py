"""``brexit braille``: translate text to Indonesian Braille and back.

$ brexit braille "A-007"
⠠⠁⠤⠼⠚⠚⠛
$ brexit braille --ascii "Poli Umum"
,POLI ,UMUM
$ brexit braille --back "⠠⠁⠤⠼⠚⠚⠛"
A-007
$ brexit braille --ascii --back ",A-#JJG"
A-007
$ brexit braille --ascii --back - < ticket.brf

Cells may be pasted with ordinary spaces (a blank cell) and line breaks (LF or a BRF
file's CR/LF); each line is translated on its own. ``-`` (TEXT or CELLS) reads stdin.
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
    parser.add_argument("text", nargs="?", help="text to translate into Braille (- for stdin)")
    parser.add_argument(
        "--ascii", action="store_true", help="use North American Braille ASCII (BRF)"
    )
    parser.add_argument(
        "--back",
        metavar="CELLS",
        help="back-translate CELLS (Unicode Braille, or Braille ASCII with --ascii; - for stdin)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if (args.text is None) == (args.back is None):
        return _fail("give either TEXT or --back CELLS")
    given = args.back if args.back is not None else args.text
    try:
        given = _read_stdin() if given == "-" else given
    except (OSError, UnicodeDecodeError) as err:
        return _fail(f"cannot read stdin: {err}")
    if not given.strip():
        return _fail("nothing to translate (the input is empty)")
    try:
        print(_translate(given, back=args.back is not None, ascii=args.ascii))
    except codec.BrailleError as err:
        return _fail(str(err))
    return 0


def _read_stdin() -> str:
    data = sys.stdin.buffer.read()
    return data.decode("utf-8")


def _translate(given: str, *, back: bool, ascii: bool) -> str:
    if back:
        return codec.back_translate(given, ascii=ascii)
    lines = [line.rstrip("\r") for line in given.strip("\r\n").split("\n")]
    to_braille = codec.text_to_ascii if ascii else codec.text_to_unicode
    return "\n".join(to_braille(line) for line in lines)


def _fail(message: str) -> int:
    print(f"brexit braille: error: {message}", file=sys.stderr)
    return 2
