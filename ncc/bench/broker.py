"""A plain Mosquitto for benchmarks: loopback, anonymous, no TLS, no persistence, no
queue limit (``max_queued_messages 0``), started fresh on a free port and stopped after.

Benchmarks measure the NCC, not TLS or the ACL plugin; the project's production configs
(``mqtt_config``) are exercised by the broker tests.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

HOST = "127.0.0.1"
START_TIMEOUT_S = 20.0


class BenchError(RuntimeError):
    """A benchmark could not run; one line says why."""


def free_port(host: str = HOST) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def render_conf(port: int, log: Path) -> str:
    """The benchmark broker's mosquitto.conf.

    >>> "max_queued_messages 0" in render_conf(1883, Path("/tmp/m.log"))
    True
    """
    return "\n".join([
        "# brexit ncc bench: a throw-away broker on loopback",
        "per_listener_settings false",
        "allow_anonymous true",
        "persistence false",
        "max_queued_messages 0",
        "max_inflight_messages 0",
        "max_connections -1",
        "set_tcp_nodelay true",
        f"log_dest file {log}",
        "log_type error",
        "log_type warning",
        f"listener {port} {HOST}",
        "",
    ])


class BenchBroker:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.log = root / "mosquitto.log"
        self.conf = root / "mosquitto.conf"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self._proc.pid if self._proc is not None else 0

    def start(self) -> BenchBroker:
        if shutil.which("mosquitto") is None:
            raise BenchError("mosquitto is not installed (./setup.sh installs it)")
        self.root.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(render_conf(self.port, self.log), encoding="utf-8")
        self._proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not accepts(HOST, self.port):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise BenchError(f"mosquitto did not start; see {self.log}")
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

    def __enter__(self) -> BenchBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
