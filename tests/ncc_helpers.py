"""Helpers for the NCC tests: a monitor on the provisioned central broker, light simulated
nodes of the pair's two sites, and a local webhook receiver."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from brokers import BrokerPair, wait_until

from contract.fleet import Fleet, parse_fleet
from ncc.config import AlarmSettings, MqttSettings, NccConfig, NotifySettings, StoreSettings
from ncc.monitor import Monitor
from ncc.sim import Broker, SimFleet

FAST_HEALTH_S = 0.5  # the simulated nodes' health interval in tests


def pair_fleet(pair: BrokerPair, *, target_version: str | None = None) -> Fleet:
    """The broker pair's sites as a fleet inventory (janti: a kiosk and a counter)."""
    defaults = {"services": [{"code": c, "name": n} for c, n in
                             (("A", "Poli Umum"), ("B", "Poli Gigi"), ("C", "KIA"))],
                "counters": [{"number": 1, "services": ["A", "B", "C"]}]}
    return parse_fleet({"defaults": defaults, "site": [
        {"id": pair.site_id, "name": "UPT Puskesmas Janti", "kecamatan": "Sukun", "nodes": [
            {"id": pair.nodes[0], "roles": ["kiosk", "broker"]},
            {"id": pair.nodes[1], "roles": ["caller"], "counters": [1]}]},
        {"id": pair.other_site, "name": "UPT Puskesmas Arjuno", "kecamatan": "Klojen",
         "nodes": [{"id": pair.other_nodes[0], "roles": ["kiosk", "broker"]}]},
    ]})


def ncc_config(pair: BrokerPair, tmp: Path, **alarms: Any) -> NccConfig:
    login = pair.ncc
    settings = {"hold_down_s": 0.5, "health_interval_s": FAST_HEALTH_S,
                "silent_after_intervals": 4.0, **alarms}
    return NccConfig(
        mqtt=MqttSettings(host=pair.central.host, port=pair.central.port,
                          username=login.username, password=login.password,
                          tls_ca=pair.central.ca),
        store=StoreSettings(path=tmp / "ncc.db"),
        alarms=replace(AlarmSettings(), **settings),
        notify=NotifySettings(),
    )


def sim_fleet(pair: BrokerPair, fleet: Fleet, **kw: Any) -> SimFleet:
    """Simulated nodes of both sites on the central broker, over the bridges' logins.

    They stand in for the site and its bridge (the bridge's login owns one client id),
    so the pair's site broker is stopped first."""
    pair.site_broker.stop()
    central = pair.central
    broker = Broker(central.host, central.port, tls_ca=str(central.ca))

    def login(site: str) -> tuple[str, str]:
        b = pair.bridge(site)
        return b.username, b.password

    return SimFleet(fleet, broker, login=login, health_interval_s=FAST_HEALTH_S,
                    behaviour=False, **kw)


@contextmanager
def running(config: NccConfig, fleet: Fleet) -> Iterator[Monitor]:
    monitor = Monitor(config, fleet=fleet).start()
    try:
        assert monitor.ingest.wait_connected(30), monitor.ingest.last_error
        yield monitor
    finally:
        monitor.close()


def wait_state(monitor: Monitor, site: str, node: str, state: str) -> None:
    def check() -> bool:
        view = monitor.node(site, node)
        return view is not None and view["state"] == state

    wait_until(check, f"{site}/{node} {state}", 60)


def open_alarm(monitor: Monitor, site: str, node: str | None, kind: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    def check() -> bool:
        found[:] = [a for a in monitor.alarms(state="open", site=site)
                    if a["node"] == node and a["kind"] == kind]
        return bool(found)

    wait_until(check, f"an open {kind} alarm for {site}/{node}", 60)
    return found[0]


class Webhook:
    """A local HTTP server that records every JSON body POSTed to it; ``fail_first``
    answers 500 to that many requests first (to see the retries)."""

    def __init__(self, fail_first: int = 0) -> None:
        self.bodies: queue.Queue[dict[str, Any]] = queue.Queue()
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.requests += 1
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.requests <= fail_first:
                    self.send_response(500)
                    self.end_headers()
                    return
                outer.bodies.put(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Webhook:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def next(self, timeout: float = 30.0) -> dict[str, Any]:
        return self.bodies.get(timeout=timeout)


def demo_process(data: Path, cwd: Path) -> tuple[subprocess.Popen[str], queue.Queue[str]]:
    """``brexit ncc demo`` as a process started in ``cwd``, and the lines it prints (read
    by a thread, so a test waits for each with a timeout)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "ncc", "demo", "--listen", "127.0.0.1:0",
         "--data", str(data)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout or []],
                     daemon=True).start()
    return proc, lines
