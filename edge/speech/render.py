"""The speech engine's own process: pyttsx3 + espeak-ng render one text to a WAV file.

Run by ``Pyttsx3Synth`` as ``python -m edge.speech.render --voice id --rate 150 --out F``
with the text on stdin. A fresh engine per utterance: pyttsx3 2.99's espeak driver keeps
state between utterances (it cancels what libespeak-ng still reports as playing, and
loses queued property changes), which within one long-lived process made renders come
out cut short or at the wrong rate in about half of our test runs. In a process of its own
every render starts clean, and the process can be killed if it hangs. Exit status: 0 done,
3 no such voice, 4 no audio produced. ``--check`` prints the voice id and renders nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

FINISH_TIMEOUT_S = 30.0


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

    import pyttsx3

    engine = pyttsx3.init("espeak")
    voices = [(v.id, list(v.languages or [])) for v in engine.getProperty("voices")]
    voice_id = choose_voice(voices, args.voice)
    if voice_id is None:
        print(f"espeak-ng has no voice {args.voice!r}", file=sys.stderr)
        return 3
    if args.check:
        print(voice_id)
        return 0
    return render(engine, voice_id, args.rate, sys.stdin.read(), args.out)


def render(engine: Any, voice_id: str, rate: int, text: str, out: str) -> int:
    from pyttsx3.drivers import _espeak

    engine.setProperty("voice", voice_id)
    engine.setProperty("rate", rate)
    finished = threading.Event()
    engine.connect("finished-utterance", lambda **_: finished.set())
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):  # "Audio saved to"
        engine.save_to_file(text, out)
        engine.runAndWait()  # returns when synthesis has started, not finished
        finished.wait(FINISH_TIMEOUT_S)
        deadline = time.monotonic() + FINISH_TIMEOUT_S
        while _espeak.IsPlaying() and time.monotonic() < deadline:
            time.sleep(0.001)
    return 0 if os.path.exists(out) and os.path.getsize(out) > 44 else 4


if __name__ == "__main__":
    sys.exit(main())
