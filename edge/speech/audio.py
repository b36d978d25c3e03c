"""16-bit mono PCM values and the few operations speech needs (stdlib only)."""

from __future__ import annotations

import math
import wave
from array import array
from dataclasses import dataclass
from pathlib import Path

SAMPLE_WIDTH = 2  # bytes: 16-bit signed little-endian
FULL_SCALE = 32767


@dataclass(frozen=True)
class Pcm:
    """Mono 16-bit PCM audio.

    >>> p = silence(0.5, rate=8000)
    >>> p.duration, len(p.frames)
    (0.5, 8000)
    """

    frames: bytes
    rate: int

    @property
    def samples(self) -> int:
        return len(self.frames) // SAMPLE_WIDTH

    @property
    def duration(self) -> float:
        return self.samples / self.rate


def from_samples(values: array, rate: int) -> Pcm:
    """Wrap an ``array('h')`` of samples."""
    return Pcm(values.tobytes(), rate)


def to_samples(pcm: Pcm) -> array:
    values = array("h")
    values.frombytes(pcm.frames)
    return values


def silence(seconds: float, *, rate: int) -> Pcm:
    return Pcm(bytes(SAMPLE_WIDTH * round(seconds * rate)), rate)


def concat(*parts: Pcm) -> Pcm:
    """Join parts of the same sample rate."""
    rates = {p.rate for p in parts}
    if len(rates) != 1:
        raise ValueError(f"cannot join sample rates {sorted(rates)}")
    return Pcm(b"".join(p.frames for p in parts), rates.pop())


def gain(pcm: Pcm, factor: float) -> Pcm:
    """Scale the amplitude by ``factor``, clipping at full scale."""
    if factor == 1.0:
        return pcm
    lo, hi = -FULL_SCALE - 1, FULL_SCALE
    scaled = array("h", (max(lo, min(hi, round(s * factor))) for s in to_samples(pcm)))
    return from_samples(scaled, pcm.rate)


def rms(pcm: Pcm) -> float:
    """Root mean square amplitude, 0 for silence, 32767 for a full-scale square."""
    values = to_samples(pcm)
    if not values:
        return 0.0
    return math.sqrt(sum(s * s for s in values) / len(values))


def write_wav(path: Path | str, pcm: Pcm) -> None:
    # The file is opened first: a path that cannot be written raises OSError before a
    # half-made Wave_write exists (its __del__ would then fail too).
    with open(path, "wb") as f, wave.open(f, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(SAMPLE_WIDTH)
        out.setframerate(pcm.rate)
        out.writeframes(pcm.frames)


def read_wav(path: Path | str) -> Pcm:
    """Read a mono 16-bit WAV file; anything else is a ValueError."""
    with wave.open(str(path), "rb") as src:
        if src.getnchannels() != 1 or src.getsampwidth() != SAMPLE_WIDTH:
            raise ValueError(f"{path}: not 16-bit mono")
        return Pcm(src.readframes(src.getnframes()), src.getframerate())
