"""pyttsx3 + espeak-ng on this machine, and the speaker back-end's playback paths."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from edge.devices.state import DeviceError, DeviceState
from edge.speech.audio import rms
from edge.speech.backends import Pyttsx3Backend, Pyttsx3Synth, Utterance, WavBackend, play
from edge.speech.render import choose_voice
from edge.speech.worker import Outcome, SpeechWorker

WAIT = 30.0
HAS_APLAY = shutil.which("aplay") is not None
HAS_SOUND_CARD = Path("/dev/snd").exists()


@pytest.mark.parametrize(
    ("voices", "wanted", "chosen"),
    [
        ([("mb/mb-id1", ["id"]), ("poz/id", ["id"])], "id", "poz/id"),
        ([("gmw/en", ["en"]), ("poz/id", ["id"])], "poz/id", "poz/id"),
        ([("poz/ms", ["ms"]), ("poz/id", ["id"])], "id", "poz/id"),
        ([("gmw/en", ["en"]), ("mb/mb-id1", ["id"])], "id", None),
        ([], "id", None),
    ],
)
def test_choose_voice(voices: list[tuple[str, list[str]]], wanted: str, chosen: str | None) -> None:
    assert choose_voice(voices, wanted) == chosen


def test_pyttsx3_initialises_with_the_indonesian_voice(capsys: pytest.CaptureFixture[str]) -> None:
    synth = Pyttsx3Synth(voice="id")
    synth.open()
    try:
        pcm = synth.render("Nomor antrean A dua belas, silakan menuju loket dua.")
        short = synth.render("Halo.")
    finally:
        synth.close()
    assert synth.voice_id == "poz/id"
    assert pcm.duration > 2.0 and rms(pcm) > 500
    assert short.duration < pcm.duration  # it really speaks the text it is given
    assert "Audio saved" not in capsys.readouterr().out  # pyttsx3's notice is kept quiet


def test_unknown_voice_is_a_device_error() -> None:
    synth = Pyttsx3Synth(voice="xx-nonexistent")
    with pytest.raises(DeviceError):
        synth.open()
    again = Pyttsx3Synth()
    again.open()  # a failed open leaves nothing behind
    again.close()


@pytest.mark.skipif(not HAS_APLAY, reason="aplay (alsa-utils) is not installed")
def test_speaker_backend_plays_through_aplay_null_device() -> None:
    with SpeechWorker(Pyttsx3Backend(voice="id", device="null")) as worker:
        worker.say("Nomor antrean A satu, silakan menuju loket satu.", chime=True)
        assert worker.wait_idle(WAIT)
        assert worker.state() is DeviceState.OK
        assert worker.backend.voice_id == "poz/id"  # type: ignore[attr-defined]
    assert [s.outcome for s in worker.spoken] == [Outcome.SPOKEN]


@pytest.mark.skipif(
    HAS_SOUND_CARD or not HAS_APLAY, reason="needs aplay and a machine WITHOUT a sound card"
)
def test_no_sound_card_is_an_error_not_a_crash() -> None:
    with SpeechWorker(Pyttsx3Backend(voice="id")) as worker:
        worker.say("Halo.")
        assert worker.wait_idle(WAIT)
        assert worker.state() is DeviceState.ERROR
        assert worker.error is not None and "aplay" in worker.error
        worker.say("Halo lagi.")  # the worker keeps serving
        assert worker.wait_idle(WAIT)
    assert [s.outcome for s in worker.spoken] == [Outcome.FAILED, Outcome.FAILED]


def test_missing_player_is_an_error_at_open() -> None:
    backend = Pyttsx3Backend(player=("brexit-no-such-player",))
    with SpeechWorker(backend) as worker:
        worker.say("Halo.")
        assert worker.wait_idle(WAIT)
        assert worker.state() is DeviceState.ERROR
        assert worker.error == "brexit-no-such-player not found: no audio output"


def test_a_hung_player_is_cut_short_by_a_new_say(tmp_path: Path) -> None:
    # A stand-in for aplay stuck on a busy device: it marks that it started, then waits.
    marker = tmp_path / "playing"
    hung = ("sh", "-c", f'touch "{marker}"; exec sleep 60', "player")
    with SpeechWorker(Pyttsx3Backend(player=hung)) as worker:
        worker.say("Nomor antrean A satu.", channel="counter-1")
        deadline = time.monotonic() + WAIT
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert marker.exists()
        worker.say("Nomor antrean A dua.", channel="counter-1")
        marker.unlink()
        deadline = time.monotonic() + WAIT
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        worker.close()
    assert [(s.utterance.text, s.outcome) for s in worker.spoken] == [
        ("Nomor antrean A satu.", Outcome.INTERRUPTED),
        ("Nomor antrean A dua.", Outcome.INTERRUPTED),  # by close()
    ]


def test_play_reports_a_failing_player(tmp_path: Path) -> None:
    wav = tmp_path / "x.wav"
    wav.write_bytes(b"")
    with pytest.raises(DeviceError, match="boom"):
        play(("sh", "-c", "echo boom >&2; exit 3", "player"), str(wav), threading.Event())
    assert play(("sh", "-c", "exit 0", "player"), str(wav), threading.Event()) is True


def test_utterance_defaults() -> None:
    assert Utterance("x") == Utterance("x", "kiosk", False, 1.0)


def test_a_wav_that_cannot_be_written_is_a_device_error(tmp_path: Path) -> None:
    """A full or broken disk under --simulate: the speaker reports an error, no traceback."""
    backend = WavBackend(tmp_path)
    backend.open()
    (tmp_path / "0001-kiosk.wav").mkdir()  # the file cannot be created
    try:
        with pytest.raises(DeviceError, match=r"cannot write 0001-kiosk\.wav"):
            backend.speak(Utterance("satu", channel="kiosk"), threading.Event())
    finally:
        backend.close()
