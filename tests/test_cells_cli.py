"""``brexit cells``: the emulator in its own process, driven by ``show`` and ``status``."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator

import pytest

from edge.braille.codec import decode, from_unicode
from edge.cells import cli

# Registers only this module's command, so the test does not depend on the other commands.
RUN = (
    "import argparse, sys; from edge.cells import cli; p = argparse.ArgumentParser(prog='brexit');"
    "cli.register(p.add_subparsers()); a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))"
)


def brexit(*args: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="brexit")
    cli.register(parser.add_subparsers())
    return parser.parse_args(list(args))


@pytest.fixture
def emulator() -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN, "cells", "--cells", "8", "emulate"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    path = proc.stdout.readline().strip()
    try:
        yield proc, path
    finally:
        proc.terminate()
        proc.wait(10)


def test_emulate_prints_path_then_each_latched_state(
    emulator: tuple[subprocess.Popen[str], str], capsys: pytest.CaptureFixture[str]
) -> None:
    proc, path = emulator
    assert path.startswith("/dev/")
    assert proc.stdout is not None
    assert from_unicode(proc.stdout.readline().rstrip("\n")) == (0,) * 8  # boot: all down
    args = brexit("cells", "--port", path, "--cells", "8", "show", "B-12")
    assert args.func(args) == 0
    assert decode(from_unicode(proc.stdout.readline().rstrip("\n"))).rstrip() == "B-12"
    assert decode(from_unicode(capsys.readouterr().out.strip())) == "B-12"
    args = brexit("cells", "--port", path, "--cells", "8", "status")
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "firmware: 1.0.0" in out and "hv: on" in out and "reset_cause: power_on" in out


def test_show_without_a_device_fails(capsys: pytest.CaptureFixture[str]) -> None:
    args = brexit("cells", "--port", "/nonexistent", "--timeout", "0.2", "show", "A")
    assert args.func(args) == 2
    assert "no controller" in capsys.readouterr().err


def test_an_8_cell_controller_without_cells_given(
    emulator: tuple[subprocess.Popen[str], str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, path = emulator  # runs with 8 cells; the firmware's default is 12
    args = brexit("cells", "--port", path, "status")
    assert args.func(args) == 0
    assert "cells: 8" in capsys.readouterr().out
    args = brexit("cells", "status", "--port", path, "--cells", "8")  # options after the verb
    assert args.func(args) == 0


def test_text_longer_than_the_cells_is_shown_in_pages_and_says_so(
    emulator: tuple[subprocess.Popen[str], str], capsys: pytest.CaptureFixture[str]
) -> None:
    proc, path = emulator
    assert proc.stdout is not None
    proc.stdout.readline()  # boot
    args = brexit("cells", "--port", path, "show", "Sedang dilayani A-012")
    assert args.func(args) == 0
    assert decode(from_unicode(proc.stdout.readline().rstrip("\n"))).rstrip() == "Sedang"
    err = capsys.readouterr().err
    assert err == ("brexit cells: 'Sedang dilayani A-012' is longer than the 8 cells: "
                   "showing page 1 of 3 (--page N shows another)\n")
    args = brexit("cells", "--port", path, "show", "Sedang dilayani A-012", "--page", "3")
    assert args.func(args) == 0
    assert decode(from_unicode(proc.stdout.readline().rstrip("\n"))).rstrip() == "A-012"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["show", "😀"], "brexit cells: cannot show '😀': no Indonesian Braille"),
        (["--cells", "12", "status"], "brexit cells: no controller at PATH: the controller has "
                                      "8 cells (firmware 1.0.0, protocol 1); this node is set "
                                      "up for 12"),
        (["show", "A-001", "--page", "2"], "brexit cells: --page 2: 'A-001' has 1 page(s)"),
    ],
)
def test_bad_input_is_one_line(
    emulator: tuple[subprocess.Popen[str], str], argv: list[str], message: str
) -> None:
    _, path = emulator
    done = subprocess.run(
        [sys.executable, "-m", "edge.cli", "cells", "--port", path, "--timeout", "2", *argv],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(message.replace("PATH", path))
