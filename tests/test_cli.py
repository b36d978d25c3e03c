"""Every ``brexit`` sub-command answers bad input with one line and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edge.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
SUBCOMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


def brexit(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", *argv], cwd=ROOT, capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip


def test_there_are_sub_commands() -> None:
    assert {"node", "braille", "announce", "bench", "cells", "broker"} <= set(SUBCOMMANDS)


@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_an_empty_argument_is_one_line_not_a_traceback(sub: str) -> None:
    done = brexit(sub, "")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("brexit")


def test_an_unexpected_argument_is_named_even_when_empty() -> None:
    done = brexit("node", "")
    assert done.stderr == "brexit: error: unexpected argument(s): '' (see: brexit --help)\n"
