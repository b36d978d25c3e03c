"""Run ``brexit node --simulate`` as a real process and talk to it over stdin/stdout."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from edge.braille.codec import ascii_to_text


class NodeProcess:
    """A simulated node in its own process; ``send`` control lines, ``expect`` output."""

    def __init__(self, data: Path, *extra: str, config: Path | None = None) -> None:
        cmd = [sys.executable, "-m", "edge.cli", "node", "--simulate", "--data", str(data)]
        if config is not None:
            cmd += ["--config", str(config)]
        self.proc = subprocess.Popen(
            [*cmd, *extra], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, bufsize=1,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.expect("ready")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, prefix: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError(f"no line starting {prefix!r}; saw {self.seen[-20:]}")

    def quit(self, timeout: float = 60.0) -> int:
        self.send("quit")
        return self.proc.wait(timeout)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


def embossed_numbers(data: Path) -> list[str]:
    """The ticket numbers read back (Braille ASCII → text) from every saved .brf."""
    return [embossed_lines(brf)[0].split()[-1] for brf in sorted((data / "embossed").glob("*.brf"))]


def embossed_lines(brf: Path) -> list[str]:
    """The text lines of one embossed ticket, back-translated from its Braille ASCII."""
    raw = brf.read_text(encoding="ascii").replace("\f", "").replace("\r", "")
    return [ascii_to_text(line) for line in raw.split("\n") if line.strip()]
