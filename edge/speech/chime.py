"""The "ding-dong" played before a call: two decaying tones, generated, no audio assets."""

from __future__ import annotations

import math
from array import array
from pathlib import Path

from edge.speech.audio import FULL_SCALE, Pcm, from_samples, write_wav

DING_HZ = 659.25  # E5
DONG_HZ = 523.25  # C5
TONE_S = 0.45
GAP_S = 0.05
AMPLITUDE = 0.5  # of full scale, before the decay


def tone(hz: float, seconds: float, *, rate: int, amplitude: float = AMPLITUDE) -> array:
    """A sine with a 5 ms attack and an exponential decay, as 16-bit samples."""
    count = round(seconds * rate)
    attack = max(1, round(0.005 * rate))
    out = array("h")
    for i in range(count):
        envelope = min(1.0, i / attack) * math.exp(-4.0 * i / count)
        value = amplitude * envelope * math.sin(2 * math.pi * hz * i / rate)
        out.append(round(value * FULL_SCALE))
    return out


def ding_dong(rate: int = 22050) -> Pcm:
    """The two-tone chime, then a short pause so speech does not start on top of it.

    >>> c = ding_dong(8000)
    >>> round(c.duration, 2), c.rate
    (1.2, 8000)
    """
    gap = array("h", bytes(2 * round(GAP_S * rate)))
    tail = array("h", bytes(2 * round(0.25 * rate)))
    samples = tone(DING_HZ, TONE_S, rate=rate) + gap + tone(DONG_HZ, TONE_S, rate=rate) + tail
    return from_samples(samples, rate)


def write_chime(path: Path | str, rate: int = 22050) -> None:
    """Write the chime alone as a WAV file."""
    write_wav(path, ding_dong(rate))
