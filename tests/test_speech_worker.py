"""The speech worker: interrupt, drop, repeat, volume, failure, with real audio where it counts.

The gated back-end below is a test double for the worker's queueing logic only (it lets a
test hold an utterance "in the speaker" until it decides); audio is checked with WavBackend.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.devices.state import DeviceError, DeviceState
from edge.speech.audio import read_wav, rms
from edge.speech.backends import Utterance, WavBackend
from edge.speech.chime import ding_dong
from edge.speech.worker import Outcome, SpeechWorker, Spoken

WAIT = 30.0  # generous upper bound for a condition; tests never depend on it being tight
CALL = "Nomor antrean A dua belas, silakan menuju loket dua."


class GatedBackend:
    """Holds each utterance until ``release`` is set or the worker cancels it."""

    def __init__(self, *, fail_open: bool = False) -> None:
        self.started: queue.Queue[Utterance] = queue.Queue()
        self.release = threading.Event()
        self.fail_open = fail_open
        self.fail_speak = False
        self.opened = 0
        self.closed = 0

    def open(self) -> None:
        self.opened += 1
        if self.fail_open:
            raise DeviceError("no speech engine")

    def speak(self, utterance: Utterance, cancel: threading.Event) -> bool:
        self.started.put(utterance)
        if self.fail_speak:
            raise DeviceError("speaker unplugged")
        while not self.release.is_set():
            if cancel.wait(0.005):
                return False
        return True

    def close(self) -> None:
        self.closed += 1


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def gated() -> Iterator[tuple[SpeechWorker, GatedBackend]]:
    backend = GatedBackend()
    with SpeechWorker(backend) as worker:
        yield worker, backend


def outcomes(worker: SpeechWorker) -> list[tuple[str, str, Outcome]]:
    return [(s.utterance.channel, s.utterance.text, s.outcome) for s in worker.spoken]


def test_new_say_interrupts_its_channel_and_drops_its_queue(
    gated: tuple[SpeechWorker, GatedBackend],
) -> None:
    worker, backend = gated
    worker.say("satu", channel="kiosk")
    assert backend.started.get(timeout=WAIT).text == "satu"
    worker.say("panggilan", channel="counter-1")  # another channel: untouched
    worker.say("dua", channel="kiosk")  # interrupts "satu"
    worker.say("tiga", channel="kiosk")  # replaces "dua" while it waits
    assert backend.started.get(timeout=WAIT).text == "panggilan"
    backend.release.set()
    assert worker.wait_idle(WAIT)
    assert outcomes(worker) == [
        ("kiosk", "satu", Outcome.INTERRUPTED),
        ("counter-1", "panggilan", Outcome.SPOKEN),
        ("kiosk", "dua", Outcome.DROPPED),
        ("kiosk", "tiga", Outcome.SPOKEN),
    ]
    assert worker.state() is DeviceState.OK


def test_repeat_says_the_channels_last_utterance(
    gated: tuple[SpeechWorker, GatedBackend],
) -> None:
    worker, backend = gated
    backend.release.set()
    assert worker.repeat("kiosk") is False  # nothing said yet
    worker.say(CALL, channel="counter-2", chime=True)
    worker.say("Halo", channel="kiosk")
    assert worker.repeat("counter-2") is True
    assert worker.wait_idle(WAIT)
    last = worker.spoken[-1]
    assert (last.utterance.text, last.utterance.chime, last.outcome) == (
        CALL,
        True,
        Outcome.SPOKEN,
    )
    assert [s.utterance.channel for s in worker.spoken] == ["counter-2", "kiosk", "counter-2"]


def test_volume_steps_clamp_and_reset() -> None:
    worker = SpeechWorker(GatedBackend(), volume=0.9, volume_step=0.25, max_volume=1.5)
    assert [worker.volume_up() for _ in range(4)] == [1.15, 1.4, 1.5, 1.5]
    assert worker.volume("counter-1") == 0.9  # per channel
    worker.reset_volume()
    assert worker.volume() == 0.9


def test_volume_resets_when_the_next_action_follows_an_idle_period() -> None:
    clock = FakeClock()
    backend = GatedBackend()
    backend.release.set()
    with SpeechWorker(backend, idle_reset_s=60, clock=clock) as worker:
        worker.say("pasien satu")
        worker.volume_up()
        clock.now += 59  # the same patient, still at the kiosk
        worker.repeat()
        clock.now += 60  # idle: the next patient
        worker.say("pasien dua")
        assert worker.wait_idle(WAIT)
    assert [s.utterance.volume for s in worker.spoken] == [1.0, 1.25, 1.0]


def test_engine_that_cannot_start_reports_error_and_keeps_serving() -> None:
    backend = GatedBackend(fail_open=True)
    seen: list[Spoken] = []
    with SpeechWorker(backend, on_spoken=seen.append) as worker:
        worker.say("satu")
        assert worker.wait_idle(WAIT)
        assert worker.state() is DeviceState.ERROR
        assert worker.error == "no speech engine"
        backend.fail_open = False  # the engine comes back: retried on the next utterance
        backend.release.set()
        worker.say("dua")
        assert worker.wait_idle(WAIT)
        assert worker.state() is DeviceState.OK
    assert [(s.utterance.text, s.outcome) for s in seen] == [
        ("satu", Outcome.FAILED),
        ("dua", Outcome.SPOKEN),
    ]
    assert seen[0].error == "no speech engine"
    assert backend.closed == 1


def test_speak_failure_sets_error_until_a_later_success(
    gated: tuple[SpeechWorker, GatedBackend],
) -> None:
    worker, backend = gated
    backend.fail_speak = True
    worker.say("satu")
    assert worker.wait_idle(WAIT)
    assert worker.state() is DeviceState.ERROR
    backend.fail_speak = False
    backend.release.set()
    worker.say("dua")
    assert worker.wait_idle(WAIT)
    assert worker.state() is DeviceState.OK
    assert [s.outcome for s in worker.spoken] == [Outcome.FAILED, Outcome.SPOKEN]


@pytest.mark.parametrize("channel", ["", "Kiosk", "counter 1", "-x", "a" * 33])
def test_bad_channel_is_refused(channel: str) -> None:
    with pytest.raises(ValueError):
        SpeechWorker(GatedBackend()).say("x", channel=channel)


def test_close_interrupts_and_refuses_new_speech() -> None:
    backend = GatedBackend()
    worker = SpeechWorker(backend).start()
    worker.say("panjang sekali")
    assert backend.started.get(timeout=WAIT).text == "panjang sekali"
    worker.close()
    assert outcomes(worker) == [("kiosk", "panjang sekali", Outcome.INTERRUPTED)]
    assert backend.closed == 1
    with pytest.raises(RuntimeError):
        worker.say("lagi")


# --- real audio through WavBackend ---------------------------------------------------------

SPEECH_RMS_FLOOR = 500.0  # espeak-ng speech at normal volume measures ~3000


def test_wav_backend_writes_numbered_audible_files(tmp_path: Path) -> None:
    backend = WavBackend(tmp_path)
    with SpeechWorker(backend) as worker:
        worker.say(CALL, channel="counter-2", chime=True)
        worker.say(CALL, channel="counter-3")
        worker.say("Permintaan bantuan Anda sudah diterima.", channel="kiosk")
        assert worker.wait_idle(WAIT)
        assert worker.state() is DeviceState.OK
    assert [p.name for p in backend.files] == [
        "0001-counter-2.wav",
        "0002-counter-3.wav",
        "0003-kiosk.wav",
    ]
    with_chime, plain, help_ = (read_wav(p) for p in backend.files)
    for pcm in (with_chime, plain, help_):
        assert pcm.duration > 0.5
        assert rms(pcm) > SPEECH_RMS_FLOOR
    chime = ding_dong(with_chime.rate)
    assert with_chime.frames.startswith(chime.frames)  # the chime comes first
    assert with_chime.duration - plain.duration == pytest.approx(chime.duration, abs=0.05)


def test_wav_backend_volume_up_is_louder_and_repeat_says_the_same(tmp_path: Path) -> None:
    backend = WavBackend(tmp_path)
    with SpeechWorker(backend, volume=0.8, volume_step=0.4) as worker:
        worker.say(CALL, channel="kiosk")
        assert worker.wait_idle(WAIT)
        worker.volume_up("kiosk")
        worker.repeat("kiosk")
        assert worker.wait_idle(WAIT)
    normal, louder = (read_wav(p) for p in backend.files)
    assert louder.duration == pytest.approx(normal.duration, abs=0.05)  # the same sentence
    assert rms(louder) / rms(normal) == pytest.approx(1.2 / 0.8, rel=0.05)
