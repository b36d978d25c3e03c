"""The NCC under test as its own process (``brexit ncc serve``), so a benchmark can measure
its CPU and memory and SIGKILL it; plus the generated fleet inventory and ncc.toml."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ncc.bench.broker import HOST, BenchError, free_port

START_TIMEOUT_S = 120.0


def fleet_toml(sites: list[str], nodes_per_site: int) -> str:
    """An inventory of ``sites`` with a kiosk and callers each (what the simulator runs).

    >>> fleet_toml(["pkm-00001"], 2).splitlines()[-1].count("id = ")
    2
    """
    callers = max(1, nodes_per_site - 1)
    nodes = ['{ id = "kios-1", roles = ["kiosk", "broker"] }']
    nodes += [f'{{ id = "loket-{c}", roles = ["caller"], counters = [{c}] }}'
              for c in range(1, callers + 1)][:nodes_per_site - 1]
    counters = ", ".join(f'{{ number = {c}, services = ["A", "B", "C", "D"] }}'
                         for c in range(1, callers + 1))
    head = ['[central]', 'host = "127.0.0.1"', "port = 1883", "", "[defaults]",
            'services = [{ code = "A", name = "Poli Umum" }, { code = "B", name = "Poli Gigi" },'
            ' { code = "C", name = "KIA" }, { code = "D", name = "Lansia" }]',
            f"counters = [{counters}]"]
    body = []
    for i, site in enumerate(sites):
        body += ["", "[[site]]", f'id = "{site}"', f'name = "Puskesmas Simulasi {i + 1}"',
                 'kecamatan = "Simulasi"', f"nodes = [{', '.join(nodes)}]"]
    return "\n".join(head + body) + "\n"


@dataclass(frozen=True)
class NccFiles:
    root: Path
    config: Path
    db: Path
    listen_port: int


def write_config(root: Path, *, broker_port: int, fleet: Path, webhook: str,
                 hold_down_s: float, health_interval_s: float,
                 login: tuple[str, str] | None = None) -> NccFiles:
    port = free_port()
    db = root / "ncc.db"
    config = root / "ncc.toml"
    account = [f'username = "{login[0]}"', f'password = "{login[1]}"'] if login else \
        ["allow_anonymous = true"]
    config.write_text("\n".join([
        "[mqtt]", f'host = "{HOST}"', f"port = {broker_port}", *account,
        'client_id = "brexit-ncc-bench"', "", "[store]", f'path = "{db}"', "",
        "[http]", f'listen = "{HOST}:{port}"', "", "[alarms]", f"hold_down_s = {hold_down_s}",
        f"health_interval_s = {health_interval_s}", "", "[notify]",
        f'webhook_url = "{webhook}"', "cooldown_s = 0", "", "[fleet]", f'path = "{fleet}"',
        'target_version = "0.1.0"', ""]), encoding="utf-8")
    return NccFiles(root, config, db, port)


def brexit(*args: str) -> list[str]:
    return [sys.executable, "-m", "edge.cli", *args]


def add_token(files: NccFiles) -> str:
    done = subprocess.run(brexit("ncc", "token", "add", "bench", "--role", "viewer",
                                 "--config", str(files.config)),
                          capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        raise BenchError(f"brexit ncc token add failed: {done.stderr.strip()}")
    return done.stdout.splitlines()[0].strip()


class NccProcess:
    def __init__(self, files: NccFiles) -> None:
        self.files = files
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = files.root / "ncc.log"

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc is not None else 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.files.listen_port}"

    def start(self) -> NccProcess:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(brexit("ncc", "serve", "--config",
                                                str(self.files.config)),
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        return self

    def wait_ready(self, ready: Callable[[], bool]) -> float:
        started = time.monotonic()
        while not ready():
            if self.proc is None or self.proc.poll() is not None:
                raise BenchError(f"the NCC exited; see {self.log}")
            if time.monotonic() - started > START_TIMEOUT_S:
                raise BenchError(f"the NCC did not start within {START_TIMEOUT_S:.0f} s")
            time.sleep(0.1)
        return time.monotonic() - started

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()
