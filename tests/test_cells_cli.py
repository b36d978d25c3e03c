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
