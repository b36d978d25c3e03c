"""The ``brexit`` command: one sub-command per module that owns it.

Each module listed in ``COMMAND_MODULES`` exposes ``register(subparsers)``, which adds
its parser and sets ``func`` (``func(args) -> int``, the exit status).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from edge import __version__

COMMAND_MODULES: tuple[str, ...] = (
    "edge.node_cli",  # brexit node
    "edge.braille.cli",  # brexit braille
    "edge.speech.cli",  # brexit announce
    "edge.bench",  # brexit bench
    "edge.cells.cli",  # brexit cells
    "mqtt_config.cli",  # brexit broker
    "edge.provision.cli",  # brexit fleet, brexit provision
    "edge.selftest.cli",  # brexit selftest
    "edge.labels.cli",  # brexit labels
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brexit", description="BREXIT: puskesmas nodes for blind and low-vision patients"
    )
    parser.add_argument("--version", action="version", version=f"brexit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
