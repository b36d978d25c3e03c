"""``brexit announce``: sentences, exit codes, and real WAV audio."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from edge.speech import cli
from edge.speech.audio import read_wav, rms
from edge.speech.backends import Pyttsx3Synth
from edge.speech.chime import ding_dong

ROOT = Path(__file__).resolve().parents[1]


def announce(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="brexit")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["announce", *argv])
    status: int = args.func(args)
    return status


@pytest.mark.parametrize(
    ("argv", "sentence"),
    [
        (
            ["ticket", "A-007", "--service", "Poli Umum", "--ahead", "3"],
            "Nomor antrean Anda A tujuh, Poli Umum. Ada tiga orang sebelum Anda.",
        ),
        (
            ["ticket", "b1", "--service", "Poli Gigi", "--ahead", "0"],
            "Nomor antrean Anda Be satu, Poli Gigi. "
            "Tidak ada antrean sebelum Anda. Anda akan dipanggil berikutnya.",
        ),
        (["call", "A12", "--counter", "2"], "Nomor antrean A dua belas, silakan menuju loket dua."),
        (
            ["call", "A-012", "--counter", "12", "--recall", "--service", "Farmasi"],
            "Panggilan ulang. Nomor antrean A dua belas, Farmasi, silakan menuju loket dua belas.",
        ),
    ],
)
def test_text_prints_the_sentence(
    argv: list[str], sentence: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert announce(*argv, "--text") == 0
    assert capsys.readouterr().out == sentence + "\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["call", "A-12x", "--counter", "2"], "not a queue number: 'A-12x'"),
        (["call", "12", "--counter", "2"], "not a queue number: '12'"),
        (["ticket", "AB-1", "--service", "Umum"], "not a queue number: 'AB-1'"),
        (["call", "A1", "--counter", "0"], "must be 1..99, not 0"),
        (["call", "A1", "--counter", "99999999999999"], "must be 1..99, not 99999999999999"),
        (["call", "A1", "--counter", "dua"], "not a whole number: 'dua'"),
        (["ticket", "A1", "--service", "Umum", "--ahead", "-1"], "must be 0..9999, not -1"),
        (["ticket", "A1", "--service", "Umum", "--ahead", "10" * 10], "must be 0..9999"),
        (["ticket", "A1", "--service", ""], "--service: must not be empty"),
        (["ticket", "A1", "--service", "   "], "--service: must not be empty"),
        (["ticket", "A1", "--service", "Umum\x1b[2J"], "unprintable character '\\x1b'"),
        (["call", "A1", "--counter", "1", "--service", ""], "--service: must not be empty"),
        (["call", "A1", "--counter", "1", "--rate", "5000"], "--rate: must be 80..450"),
        (["call", "A1", "--counter", "1", "--rate", "0"], "--rate: must be 80..450, not 0"),
        (["call", "A1"], "--counter"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        announce(*argv, "--text")
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_the_brexit_command_knows_announce() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "edge.cli", "announce", "call", "A-x", "--counter", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "not a queue number" in done.stderr


@pytest.mark.parametrize("where", ["missing/x.wav", "."])
def test_wav_to_a_missing_directory_or_a_directory_is_one_line(
    where: str, tmp_path: Path
) -> None:
    target = str(tmp_path / where)
    done = subprocess.run(
        [sys.executable, "-m", "edge.cli", "announce", "ticket", "A1", "--service", "Umum",
         "--wav", target],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert "--wav" in done.stderr and str(tmp_path) in done.stderr


def test_wav_that_cannot_be_written_is_exit_1_before_rendering(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = announce("call", "A1", "--counter", "1", "--wav", "/proc/brexit-x.wav")
    assert status == 1
    assert capsys.readouterr().err.startswith("brexit announce: cannot write /proc/brexit-x.wav")


def test_wav_writes_a_call_with_the_chime_first(tmp_path: Path) -> None:
    call_wav, ticket_wav = tmp_path / "call.wav", tmp_path / "ticket.wav"
    assert announce("call", "A-012", "--counter", "2", "--wav", str(call_wav)) == 0
    args = ("ticket", "A-012", "--service", "Poli Umum", "--ahead", "2")
    assert announce(*args, "--wav", str(ticket_wav)) == 0
    call, ticket = read_wav(call_wav), read_wav(ticket_wav)
    for pcm in (call, ticket):
        assert pcm.duration > 0.5
        assert rms(pcm) > 500  # not silent
    soxi = subprocess.run(["soxi", "-D", str(call_wav)], capture_output=True, text=True)
    assert float(soxi.stdout) == pytest.approx(call.duration, abs=0.001)  # sox agrees
    assert call.frames.startswith(ding_dong(call.rate).frames)
    assert not ticket.frames.startswith(ding_dong(ticket.rate).frames[:2000])
    synth = Pyttsx3Synth()
    synth.open()
    try:
        bare = synth.render("Nomor antrean A dua belas, silakan menuju loket dua.")
    finally:
        synth.close()
    assert call.duration > bare.duration
    assert call.duration - bare.duration == pytest.approx(ding_dong().duration, abs=0.05)


def test_speaker_failure_is_exit_1_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    status = announce("call", "A1", "--counter", "1", "--device", "brexit-no-such-device")
    assert status == 1
    assert "aplay" in capsys.readouterr().err
