"""PCM helpers and the generated chime, read back as tones."""

from __future__ import annotations

import itertools
import subprocess
from array import array
from pathlib import Path

import pytest

from edge.speech.audio import (
    Pcm,
    concat,
    from_samples,
    gain,
    read_wav,
    rms,
    silence,
    to_samples,
    write_wav,
)
from edge.speech.chime import DING_HZ, DONG_HZ, GAP_S, TONE_S, ding_dong, write_chime


def dominant_hz(pcm: Pcm, start_s: float, end_s: float) -> float:
    """The frequency of a pure tone in [start_s, end_s), from its zero crossings."""
    values = to_samples(pcm)[round(start_s * pcm.rate) : round(end_s * pcm.rate)]
    signs = [v > 0 for v in values if v != 0]
    crossings = sum(1 for a, b in itertools.pairwise(signs) if a != b)
    return crossings / 2 / (end_s - start_s)


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100])
def test_chime_is_ding_then_dong(rate: int) -> None:
    chime = ding_dong(rate)
    assert chime.rate == rate
    assert chime.duration == pytest.approx(1.2, abs=4 / rate)  # four rounded parts
    ding = dominant_hz(chime, 0.0, TONE_S)
    dong = dominant_hz(chime, TONE_S + GAP_S, 2 * TONE_S + GAP_S)
    assert ding == pytest.approx(DING_HZ, rel=0.02)
    assert dong == pytest.approx(DONG_HZ, rel=0.02)


def test_chime_is_audible_not_clipped_and_ends_quiet() -> None:
    chime = ding_dong(22050)
    values = to_samples(chime)
    assert rms(chime) > 2000
    assert max(abs(v) for v in values) < 32767 * 0.55
    tail = Pcm(chime.frames[-2 * round(0.25 * 22050) :], 22050)
    assert rms(tail) == 0  # the pause before speech


def test_chime_wav_reads_back_identically(tmp_path: Path) -> None:
    path = tmp_path / "chime.wav"
    write_chime(path, 22050)
    assert read_wav(path) == ding_dong(22050)
    info = subprocess.run(["soxi", "-D", str(path)], capture_output=True, text=True, check=True)
    assert float(info.stdout) == pytest.approx(1.2, abs=0.001)


@pytest.mark.parametrize(
    ("samples", "factor", "expected"),
    [
        ([0, 100, -100], 2.0, [0, 200, -200]),
        ([1000, -1000], 0.5, [500, -500]),
        ([20000, -20000], 2.0, [32767, -32768]),  # clipped, not wrapped
        ([3, -3], 1.0, [3, -3]),
    ],
)
def test_gain(samples: list[int], factor: float, expected: list[int]) -> None:
    out = gain(from_samples(array("h", samples), 8000), factor)
    assert list(to_samples(out)) == expected


@pytest.mark.parametrize(
    ("samples", "expected"), [([], 0.0), ([0, 0], 0.0), ([3, -3], 3.0), ([3, 4, -3, -4], 12.5**0.5)]
)
def test_rms(samples: list[int], expected: float) -> None:
    assert rms(from_samples(array("h", samples), 8000)) == pytest.approx(expected)


def test_concat_and_silence() -> None:
    joined = concat(silence(0.25, rate=8000), from_samples(array("h", [5]), 8000))
    assert joined.samples == 2001 and list(to_samples(joined))[-1] == 5
    with pytest.raises(ValueError):
        concat(silence(0.1, rate=8000), silence(0.1, rate=16000))


def test_read_wav_rejects_stereo(tmp_path: Path) -> None:
    path = tmp_path / "stereo.wav"
    subprocess.run(
        ["sox", "-n", "-r", "8000", "-b", "16", "-c", "2", str(path), "trim", "0", "0.1"],
        check=True,
    )
    with pytest.raises(ValueError):
        read_wav(path)
    mono = tmp_path / "mono.wav"
    write_wav(mono, silence(0.1, rate=8000))
    assert read_wav(mono).duration == pytest.approx(0.1)
