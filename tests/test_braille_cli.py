"""``brexit braille`` through argparse, as a user types it."""

from __future__ import annotations

import argparse
import importlib.util

import pytest

from edge import cli
from edge.braille import cli as braille_cli


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="brexit")
    braille_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    status: int = args.func(args)
    return status


@pytest.mark.parametrize(
    ("argv", "output"),
    [
        (["braille", "A-007"], "⠠⠁⠤⠼⠚⠚⠛"),
        (["braille", "Poli Umum"], "⠠⠏⠕⠇⠊⠀⠠⠥⠍⠥⠍"),
        (["braille", "--ascii", "KIA loket 2"], ",,KIA LOKET #B"),
        (["braille", "--back", "⠠⠁⠤⠼⠚⠚⠛"], "A-007"),
        (["braille", "--ascii", "--back", "#C;A"], "3a"),
        (["braille", "--ascii", "--back", ",poli ,umum"], "Poli Umum"),
    ],
)
def test_translates(argv: list[str], output: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(argv) == 0
    captured = capsys.readouterr()
    assert captured.out == output + "\n"
    assert captured.err == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["braille", "Rp 5€"], "'€' at position 4"),
        (["braille", "--back", "ABC"], "'A' at position 0"),
        (["braille", "--ascii", "--back", "#K"], "number sign"),
        (["braille"], "either TEXT or --back"),
        (["braille", "A", "--back", "⠁"], "either TEXT or --back"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err


def _all_commands_present() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in cli.COMMAND_MODULES)


@pytest.mark.skipif(not _all_commands_present(), reason="not every brexit sub-command exists yet")
def test_through_the_brexit_entry_point(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["braille", "--ascii", "A-007"]) == 0
    assert capsys.readouterr().out == ",A-#JJG\n"
    assert cli.main(["braille", "--back", "⠼⠁⠃⠲⠼⠉⠚"]) == 0
    assert capsys.readouterr().out == "12.30\n"
