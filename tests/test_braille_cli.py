"""``brexit braille`` through argparse, as a user types it."""

from __future__ import annotations

import argparse
import importlib.util
import io

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
        (["braille", "--back", "⠠⠁⠤⠼⠚⠚⠛ ⠠⠏⠕⠇⠊"], "A-007 Poli"),
        (["braille", "--back", "⠠⠁⠤⠼⠚⠚⠛\n⠠⠏⠕⠇⠊\n"], "A-007\nPoli"),
        (["braille", "--ascii", "--back", ",A-#JJG\r\n,POLI\r\n"], "A-007\nPoli"),
        (["braille", "Ibu & Anak 100%"], "⠠⠊⠃⠥⠀⠙⠁⠝⠀⠠⠁⠝⠁⠅⠀⠼⠁⠚⠚⠀⠏⠑⠗⠎⠑⠝"),
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
        (["braille", ""], "nothing to translate"),
        (["braille", "--back", ""], "nothing to translate"),
        (["braille", "--back", " \r\n"], "nothing to translate"),
        (["braille", "--ascii", "--back", ",#"], "'#' at position 1"),
        (["braille", "--back", "⠠⠁\t⠁"], "'\\t' at position 2"),
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


def test_cells_from_stdin_as_a_brf_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b",A-#JJG\r\n,POLI\r\n\x0c")))
    assert run(["braille", "--ascii", "--back", "-"]) == 0
    assert capsys.readouterr().out == "A-007\nPoli\n"


def test_empty_stdin_is_an_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    assert run(["braille", "--back", "-"]) == 2
    assert "nothing to translate" in capsys.readouterr().err
