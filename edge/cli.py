"""The ``brexit`` command: one sub-command per module that owns it.

Each module listed in ``COMMAND_MODULES`` exposes ``register(subparsers)``, which adds
its parser and sets ``func`` (``func(args) -> int``, the exit status).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from edge import __version__

COMMAND_MODULES: tuple[str, ...] = (
    "edge.node_cli",  # brexit node
    "edge.braille.cli",  # brexit braille
    "edge.speech.cli",  # brexit announce
    "edge.bench",  # brexit bench
    "edge.cells.cli",  # brexit cells
    "mqtt_config.cli",  # brexit broker
    "edge.bpjs.cli",  # brexit bpjs
    "ncc.cli",  # brexit ncc
    "edge.selftest.cli",  # brexit selftest
    "edge.labels.cli",  # brexit labels
)


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (what is wrong, and where help is), in English.

    Sub-commands' parsers are made with the same class, so every ``brexit …`` answers alike.
    """

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras and self.prog == "brexit":  # say which, even an empty one: ''
            self.error("unexpected argument(s): " + " ".join(repr(a) for a in extras))
        return parsed, extras

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def int_in(low: int, high: int) -> Callable[[str], int]:
    """An argparse ``type``: a whole number from ``low`` to ``high``.

    >>> int_in(1, 99)("7")
    7
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low}..{high}, not {value}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="brexit", description="BREXIT: puskesmas nodes for blind and low-vision patients"
    )
    parser.add_argument("--version", action="version", version=f"brexit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def console() -> int:
    """The ``brexit`` console script: ``main`` with one log format for every command.

    (python-escpos calls ``logging.basicConfig()`` at import, which would prefix each
    log line with ``WARNING:module:``.)"""
    logging.basicConfig(level=logging.WARNING, format="brexit: %(message)s", force=True)
    return main()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(console())
