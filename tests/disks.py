"""A small real filesystem for the node's data directory: a tmpfs, filled and freed."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHUNK = 64 * 1024


@contextmanager
def small_tmpfs(where: Path, size_mib: int = 8) -> Iterator[Path]:
    """Mount a tmpfs of ``size_mib`` at ``where`` (root only; the test is skipped otherwise)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs the suite as root)")
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mib}m,mode=0700",
                           "tmpfs", str(where)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(directory: Path, name: str = "filler") -> Path:
    """Write ``directory/name`` until the filesystem has no byte left; returns its path."""
    path = directory / name
    block = b"\0" * CHUNK
    with open(path, "ab", buffering=0) as f:
        size = CHUNK
        while size >= 1:
            try:
                f.write(block[:size])
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                size //= 2
    return path
