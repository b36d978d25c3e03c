"""Speech back-ends: turn one utterance into sound on the speaker or into a WAV file.

Every method here is blocking and is called from ONE thread only, the speech worker's
(``edge.speech.worker``). ``open()`` runs on that thread too.

Text is rendered by libespeak-ng through pyttsx3's ctypes binding, in synchronous mode,
with the Indonesian voice, in a short process of its own per utterance
(``edge.speech.render``, which says why: pyttsx3's asynchronous engine loop cut renders
short or lost the rate now and then).
Playback is ``aplay`` (alsa-utils), started by us and
not by pyttsx3: pyttsx3 2.99's espeak ``say()`` shells out to ``aplay`` with ``os.system``,
which can be neither interrupted nor checked for failure. Volume is applied to the samples
here (espeak's own volume property, set through pyttsx3's command queue, is sometimes lost).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from edge.devices.state import DeviceError, DeviceState
from edge.speech.audio import Pcm, concat, gain, read_wav, write_wav
from edge.speech.chime import ding_dong

DEFAULT_RATE_WPM = 150  # words per minute: slower than espeak's 175 for a noisy waiting room
POLL_S = 0.02  # how often playback checks for an interruption
RENDER_TIMEOUT_S = 30.0  # a render takes ~0.1 s; this means the engine is stuck



@dataclass(frozen=True)
class Utterance:
    """One thing to say, as the worker hands it to a back-end.

    >>> Utterance("Nomor antrean A satu, silakan menuju loket dua.", "counter-2", chime=True)
    Utterance(text='Nomor antrean A satu, silakan menuju loket dua.', channel='counter-2', \
chime=True, volume=1.0)
    """

    text: str
    channel: str = "kiosk"
    chime: bool = False
    volume: float = 1.0  # 1.0 = espeak-ng's normal loudness


class SpeechBackend(Protocol):
    """What the speech worker drives. All calls come from the worker's thread."""

    def open(self) -> None:
        """Prepare the engine; raise DeviceError if it cannot work."""

    def speak(self, utterance: Utterance, cancel: threading.Event) -> bool:
        """Say it; return False if ``cancel`` cut it short. Raise DeviceError on failure."""
        ...

    def close(self) -> None:
        """Release the engine."""


class Pyttsx3Synth:
    """Text to PCM: libespeak-ng (through pyttsx3's binding) with the Indonesian voice, one
    short process per utterance (``edge.speech.render``; why: see that module).

    >>> synth = Pyttsx3Synth(voice="id")
    >>> synth.open(); pcm = synth.render("Nomor antrean A satu."); synth.close()
    >>> synth.voice_id, pcm.rate
    ('poz/id', 22050)
    """

    def __init__(self, voice: str = "id", rate: int = DEFAULT_RATE_WPM) -> None:
        self.voice = voice
        self.rate = rate
        self.voice_id: str | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def _run(self, args: list[str], text: str = "") -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "edge.speech.render", "--voice", self.voice,
                   "--rate", str(self.rate), *args]
        try:
            return subprocess.run(command, input=text, capture_output=True, text=True,
                                  timeout=RENDER_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise DeviceError(f"speech engine stuck for {RENDER_TIMEOUT_S:.0f} s") from None
        except OSError as e:
            raise DeviceError(f"speech engine failed to start: {e}") from e

    def open(self) -> None:
        """Check that the engine runs and has the voice."""
        done = self._run(["--check"])
        if done.returncode != 0:
            reason = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
            raise DeviceError(f"speech engine failed to start: {reason[0]}")
        self.voice_id = done.stdout.strip()
        self._tmp = tempfile.TemporaryDirectory(prefix="brexit-speech-")

    def render(self, text: str) -> Pcm:
        """Synthesize ``text``; DeviceError if the engine fails or produces nothing."""
        if self._tmp is None:
            raise DeviceError("speech engine is not open")
        path = Path(self._tmp.name) / "render.wav"
        path.unlink(missing_ok=True)
        done = self._run(["--out", str(path)], text)
        if done.returncode != 0 or not path.exists():
            raise DeviceError(f"espeak-ng produced no audio (exit {done.returncode})")
        return read_wav(path)

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def render_utterance(synth: Pyttsx3Synth, utterance: Utterance) -> Pcm:
    """The utterance's audio: chime first when asked, at the utterance's volume."""
    speech = synth.render(utterance.text)
    audio = concat(ding_dong(speech.rate), speech) if utterance.chime else speech
    return gain(audio, utterance.volume)


class WavBackend:
    """Writes each utterance to ``out_dir`` as ``0001-kiosk.wav``, ``0002-counter-2.wav``…

    Used by ``--simulate`` and ``--wav``. Rendering a file takes milliseconds, so an
    interruption has nothing to cut: a new ``say`` only drops queued utterances.

    >>> backend = WavBackend("/tmp/brexit-speech")
    """

    def __init__(
        self, out_dir: Path | str, *, voice: str = "id", rate: int = DEFAULT_RATE_WPM
    ) -> None:
        self.out_dir = Path(out_dir)
        self._synth = Pyttsx3Synth(voice, rate)
        self._files: list[Path] = []

    @property
    def files(self) -> tuple[Path, ...]:
        """The WAV files written so far, in order."""
        return tuple(self._files)

    def open(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._synth.open()

    def speak(self, utterance: Utterance, cancel: threading.Event) -> bool:
        path = self.out_dir / f"{len(self._files) + 1:04d}-{utterance.channel}.wav"
        try:
            write_wav(path, render_utterance(self._synth, utterance))
        except OSError as e:  # a full or read-only disk: the speaker's fault, not a crash
            raise DeviceError(f"cannot write {path.name}: {e.strerror or e}") from e
        self._files.append(path)
        return True

    def close(self) -> None:
        self._synth.close()


class Pyttsx3Backend:
    """Speaks on the real speaker: pyttsx3 + espeak-ng render, ``aplay`` plays.

    ``device`` is an ALSA device for ``aplay -D`` (None: the default card). Without
    ``aplay`` or without a sound card, ``open``/``speak`` raise DeviceError (ERROR state).

    >>> backend = Pyttsx3Backend(voice="id", rate=150)
    """

    def __init__(
        self,
        voice: str = "id",
        rate: int = DEFAULT_RATE_WPM,
        *,
        device: str | None = None,
        player: Sequence[str] = ("aplay", "-q"),
    ) -> None:
        self._synth = Pyttsx3Synth(voice, rate)
        self._command = [*player, *(["-D", device] if device else [])]

    @property
    def voice_id(self) -> str | None:
        return self._synth.voice_id

    def open(self) -> None:
        self._synth.open()
        if shutil.which(self._command[0]) is None:
            self._synth.close()
            raise DeviceError(f"{self._command[0]} not found: no audio output", DeviceState.ERROR)

    def speak(self, utterance: Utterance, cancel: threading.Event) -> bool:
        with tempfile.NamedTemporaryFile(prefix="brexit-say-", suffix=".wav") as tmp:
            write_wav(tmp.name, render_utterance(self._synth, utterance))
            return play(self._command, tmp.name, cancel)

    def close(self) -> None:
        self._synth.close()


def play(command: Sequence[str], wav_path: str, cancel: threading.Event) -> bool:
    """Run ``command wav_path`` until it ends (True) or ``cancel`` is set (False)."""
    try:
        proc = subprocess.Popen(
            [*command, wav_path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
    except OSError as exc:
        raise DeviceError(f"cannot start {command[0]}: {exc}") from exc
    while proc.poll() is None:
        if cancel.wait(POLL_S):
            proc.terminate()
            proc.communicate()
            return False
    _, err = proc.communicate()
    if proc.returncode != 0:
        lines = err.decode(errors="replace").strip().splitlines()
        raise DeviceError(f"{command[0]} failed: {lines[-1] if lines else proc.returncode}")
    return True
