"""A Mosquitto of our own on loopback: a free port, the process, waiting until it accepts
connections, stopping it. The demo and the benchmarks run their brokers with this."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from mqtt_config.pki import ToolError

HOST = "127.0.0.1"
START_TIMEOUT_S = 20.0


class BrokerStartError(ToolError):
    """Mosquitto could not be started; one line says why and where its log is."""


def free_port(host: str = HOST) -> int:
    """A TCP port nobody listens on now (the kernel's choice)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def accepts(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on ``host:port`` now.

    >>> accepts(HOST, free_port())
    False
    """
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class MosquittoProcess:
    """``mosquitto -c conf`` in its own session (Ctrl-C reaches the caller, which stops the
    broker last); ``start`` returns once ``host:port`` accepts connections. The broker's
    own output goes to ``output`` when given."""

    def __init__(self, conf: Path, port: int, log: Path, *, host: str = HOST,
                 output: Path | None = None) -> None:
        self.conf, self.port, self.log, self.host, self.output = conf, port, log, host, output
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        return self._proc.pid if self._proc is not None else 0

    def start(self) -> MosquittoProcess:
        if shutil.which("mosquitto") is None:
            raise BrokerStartError("mosquitto is not installed (./setup.sh installs it)")
        out = self.output.open("ab") if self.output is not None else None
        try:
            self._proc = subprocess.Popen(
                ["mosquitto", "-c", str(self.conf)], stdout=out or subprocess.DEVNULL,
                stderr=subprocess.STDOUT if out else subprocess.DEVNULL, start_new_session=True)
        finally:
            if out is not None:
                out.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not accepts(self.host, self.port):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise BrokerStartError(f"mosquitto did not start; see {self.log}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=START_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def __enter__(self) -> MosquittoProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
