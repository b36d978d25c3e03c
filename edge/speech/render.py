"""The speech engine's own process: espeak-ng renders one text to a WAV file.

Run by ``Pyttsx3Synth`` as ``python -m edge.speech.render --voice id --rate 150 --out F``
with the text on stdin. It drives libespeak-ng through pyttsx3's own binding
(``pyttsx3.drivers._espeak``) in *synchronous* mode: ``Synth`` returns when the whole text
has been rendered into our callback. pyttsx3's engine loop (``save_to_file`` +
``runAndWait``) is asynchronous on Debian's espeak-ng and cancels what libespeak-ng still
reports as playing: within one process renders came out cut short or at the wrong rate in
about half of the full test runs, and even with a fresh engine per process now and then.
A process per utterance keeps the engine state clean and can be killed if it hangs.
Exit status: 0 done, 3 no such voice, 4 no audio. ``--check`` prints the voice id only.
"""

from __future__ import annotations

import argparse
import ctypes
import sys
import wave
from collections.abc import Iterable, Sequence
from typing import Any


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edge.speech.render")
    parser.add_argument("--voice", default="id")
    parser.add_argument("--rate", type=int, default=150)
    parser.add_argument("--out")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)

    from pyttsx3.drivers import _espeak  # pyttsx3's binding: loads libespeak-ng via ctypes

    sample_rate = _espeak.Initialize(_espeak.AUDIO_OUTPUT_SYNCHRONOUS, 500)
    if sample_rate <= 0:
        print("libespeak-ng failed to initialise", file=sys.stderr)
        return 4
    voices = [(_text(v.identifier), [_language(v.languages)]) for v in _espeak.ListVoices()]
    voice_id = choose_voice(voices, args.voice)
    if voice_id is None or _espeak.SetVoiceByName(voice_id.encode()) != 0:
        print(f"espeak-ng has no voice {args.voice!r}", file=sys.stderr)
        return 3
    if args.check:
        print(voice_id)
        return 0
    _espeak.SetParameter(_espeak.RATE, args.rate, 0)
    samples = synthesize(_espeak, sys.stdin.read())
    if not samples:
        return 4
    with wave.open(args.out, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(samples)
    return 0


def _text(raw: bytes | None) -> str:
    return (raw or b"").decode("utf-8", "replace")


def _language(raw: bytes | None) -> str:
    """espeak's language list: a priority byte, then the name, NUL-terminated."""
    return _text(raw)[1:] if raw else ""


def synthesize(espeak: Any, text: str) -> bytes:
    """All of ``text`` as 16-bit PCM; in synchronous mode ``Synth`` returns when done."""
    chunks: list[bytes] = []

    def collect(wav: Any, count: int, _events: Any) -> int:
        if count > 0:
            chunks.append(ctypes.string_at(wav, count * 2))
        return 0  # continue

    espeak.SetSynthCallback(collect)
    espeak.Synth(text.encode("utf-8"), flags=espeak.CHARS_UTF8)
    espeak.Synchronize()
    return b"".join(chunks)


if __name__ == "__main__":
    sys.exit(main())
