"""The project's wheel, built once per test session (``pip wheel --no-deps``)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@cache
def build_wheel() -> Path:
    out = Path(tempfile.mkdtemp(prefix="brexit-wheel-"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "--quiet", "--wheel-dir", str(out), str(REPO)],
                   check=True, capture_output=True)
    wheels = sorted(out.glob("brexit-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]
