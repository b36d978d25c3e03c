"""Speech back-ends: turn one utterance into sound on the speaker or into a WAV file.

Every method here is blocking and is called from ONE thread only, the speech worker's
(``edge.speech.worker``): pyttsx3 and the espeak-ng library under it are process-wide and
hang when driven from several threads. ``open()`` runs on that thread too.

Text is rendered by pyttsx3's espeak driver (``save_to_file``, which loads libespeak-ng via
ctypes) with the Indonesian voice. Playback is ``aplay`` (alsa-utils), started by us and
not by pyttsx3: pyttsx3 2.99's espeak ``say()`` shells out to ``aplay`` with ``os.system``,
which can be neither interrupted nor checked for failure. Volume is applied to the samples
here (espeak's own volume property, set through pyttsx3's command queue, is sometimes lost).
"""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol, cast

from edge.devices.state import DeviceError, DeviceState
from edge.speech.audio import Pcm, concat, gain, read_wav, write_wav
from edge.speech.chime import ding_dong

DEFAULT_RATE_WPM = 150  # words per minute: slower than espeak's 175 for a noisy waiting room
POLL_S = 0.02  # how often playback checks for an interruption
RENDER_TIMEOUT_S = 30.0  # espeak-ng renders a sentence in ~10 ms; this means it is stuck

_engine_lock = threading.Lock()  # espeak-ng is one engine per process


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


def choose_voice(voices: Iterable[tuple[str, Sequence[str]]], wanted: str) -> str | None:
    """Pick a voice id from (id, languages) pairs: an exact id, else the first non-MBROLA
    voice for language ``wanted`` (MBROLA voices need extra data files).

    >>> choose_voice([("mb/mb-id1", ["id"]), ("poz/id", ["id"])], "id")
    'poz/id'
    """
    candidates = list(voices)
    for voice_id, _ in candidates:
        if voice_id == wanted:
            return voice_id
    for voice_id, languages in candidates:
        if wanted in languages and not voice_id.startswith("mb/"):
            return voice_id
    return None


class _DropSavedNotice(io.TextIOBase):
    """A stdout that swallows pyttsx3's "Audio saved to …" line and passes the rest.

    The line is printed from espeak-ng's own callback thread, so it is matched by text.
    """

    PREFIX = "Audio saved to "

    def __init__(self, target: IO[str]) -> None:
        self._target = target
        self._dropping = False

    def write(self, s: str) -> int:
        if s.startswith(self.PREFIX) or (self._dropping and s == "\n"):
            self._dropping = not self._dropping
            return len(s)
        return self._target.write(s)

    def flush(self) -> None:
        self._target.flush()


class Pyttsx3Synth:
    """Text to PCM with pyttsx3's espeak driver and espeak-ng's Indonesian voice.

    >>> synth = Pyttsx3Synth(voice="id")
    >>> synth.open(); pcm = synth.render("Nomor antrean A satu."); synth.close()
    >>> synth.voice_id, pcm.rate
    ('poz/id', 22050)
    """

    def __init__(self, voice: str = "id", rate: int = DEFAULT_RATE_WPM) -> None:
        self.voice = voice
        self.rate = rate
        self.voice_id: str | None = None
        self._engine: Any = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._finished = threading.Event()
        self._token: Any = None

    def open(self) -> None:
        if not _engine_lock.acquire(blocking=False):
            raise DeviceError("another speech engine is already open in this process")
        try:
            self._init_engine()
        except Exception as exc:
            _engine_lock.release()
            self._engine = None
            if isinstance(exc, DeviceError):
                raise
            raise DeviceError(f"speech engine failed to start: {exc}") from exc
        self._tmp = tempfile.TemporaryDirectory(prefix="brexit-speech-")

    def _init_engine(self) -> None:
        import pyttsx3  # imported here: loading libespeak-ng is the part that can fail

        engine = pyttsx3.init("espeak")
        voices = [(v.id, list(v.languages or [])) for v in engine.getProperty("voices")]
        voice_id = choose_voice(voices, self.voice)
        if voice_id is None:
            raise DeviceError(f"espeak-ng has no voice {self.voice!r}")
        self._token = engine.connect("finished-utterance", self._on_finished)
        self._engine, self.voice_id = engine, voice_id

    def _on_finished(self, **_: object) -> None:
        self._finished.set()  # called on libespeak-ng's thread, after the WAV is written

    def render(self, text: str) -> Pcm:
        """Synthesize ``text``.

        pyttsx3's ``runAndWait`` can return before libespeak-ng (asynchronous on Debian)
        has written the file, so we wait for the driver's "finished-utterance". The voice
        is checked after each run: pyttsx3 applies property changes lazily."""
        if self._engine is None or self._tmp is None:
            raise DeviceError("speech engine is not open")
        path = Path(self._tmp.name) / "render.wav"
        path.unlink(missing_ok=True)
        engine = self._engine
        quiet = _DropSavedNotice(sys.stdout)
        self._wait_espeak_idle()
        self._apply_voice()
        self._finished.clear()
        with contextlib.redirect_stdout(cast(IO[str], quiet)):
            engine.save_to_file(text, str(path))
            engine.runAndWait()  # returns once synthesis has STARTED, on espeak's thread
            done = self._finished.wait(RENDER_TIMEOUT_S)
        if not done:
            raise DeviceError(f"espeak-ng did not finish within {RENDER_TIMEOUT_S:.0f} s")
        if (engine.getProperty("voice"), engine.getProperty("rate")) != (self.voice_id, self.rate):
            raise DeviceError(f"espeak-ng is not set to voice {self.voice_id!r} at {self.rate}")
        if not path.exists():
            raise DeviceError("espeak-ng produced no audio")
        return read_wav(path)

    def _apply_voice(self) -> None:
        """Set voice and rate on libespeak-ng directly: pyttsx3's ``setProperty`` goes
        through its command queue and is sometimes lost (then espeak speaks at 200 wpm)."""
        from pyttsx3.drivers import _espeak

        if _espeak.SetVoiceByName(str(self.voice_id).encode()) != 0:
            raise DeviceError(f"espeak-ng refused voice {self.voice_id!r}")
        _espeak.SetParameter(_espeak.RATE, self.rate, 0)

    @staticmethod
    def _wait_espeak_idle() -> None:
        """libespeak-ng reports "playing" a little after its last callback; pyttsx3 cancels
        whatever is "playing" when its loop ends, which would cut the NEXT text short."""
        from pyttsx3.drivers import _espeak

        deadline = time.monotonic() + RENDER_TIMEOUT_S
        while _espeak.IsPlaying():
            if time.monotonic() > deadline:
                raise DeviceError("espeak-ng stays busy")
            time.sleep(0.001)

    def close(self) -> None:
        if self._engine is None:
            return
        self._engine.disconnect(self._token)  # pyttsx3 caches the engine: leave it clean
        self._engine = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        _engine_lock.release()


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
        write_wav(path, render_utterance(self._synth, utterance))
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
