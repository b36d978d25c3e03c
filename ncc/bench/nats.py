"""``brexit ncc bench fleet --nats``: the fleet run against a 3-server NATS JetStream
cluster and its MQTT gateways (rendered by ``mqtt_config.render_nats_conf``, as the delivery
tests start it): the simulator on the first server, the NCC on the second."""

from __future__ import annotations

import http.client
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from mqtt_config.render import NatsNode, render_nats_conf
from ncc.bench.broker import HOST, BenchError, accepts, free_port
from ncc.bench.fleet import FleetBench
from ncc.bench.fleet import main as fleet_main

START_TIMEOUT_S = 90.0


class NatsCluster:
    def __init__(self, root: Path, users: dict[str, str], size: int = 3) -> None:
        self.root = root
        ports = [(free_port(), free_port(), free_port(), free_port()) for _ in range(size)]
        self.nodes: list[NatsNode] = []
        for i, (client, cluster, mqtt_port, http_port) in enumerate(ports):
            self.nodes.append(NatsNode(
                name=f"n{i + 1}", client_port=client, cluster_port=cluster,
                mqtt_port=mqtt_port, http_port=http_port,
                routes=tuple(p[1] for j, p in enumerate(ports) if j != i),
                store_dir=root / f"n{i + 1}" / "store", users=tuple(users.items())))
        self._procs: list[subprocess.Popen[bytes]] = []

    def mqtt(self, i: int) -> str:
        return f"{HOST}:{self.nodes[i].mqtt_port}"

    def start(self) -> NatsCluster:
        if shutil.which("nats-server") is None:
            raise BenchError("nats-server is not installed (./setup.sh --dev installs it)")
        for n in self.nodes:
            conf = self.root / n.name / "nats.conf"
            conf.parent.mkdir(parents=True, exist_ok=True)
            conf.write_text(render_nats_conf(n), encoding="utf-8")
            conf.chmod(0o600)
            with (conf.parent / "nats.log").open("ab") as log:
                self._procs.append(subprocess.Popen(["nats-server", "-c", str(conf)],
                                                    stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + START_TIMEOUT_S
        for n in self.nodes:
            while not (self._healthy(n) and accepts(HOST, n.mqtt_port)):
                if time.monotonic() > deadline or any(p.poll() is not None
                                                      for p in self._procs):
                    self.stop()
                    raise BenchError(f"the NATS cluster did not start; see {self.root}")
                time.sleep(0.2)
        return self

    @staticmethod
    def _healthy(n: NatsNode) -> bool:
        conn = http.client.HTTPConnection(HOST, n.http_port, timeout=1)
        try:
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def stop(self) -> None:
        for p in self._procs:
            if p.poll() is None:
                p.terminate()
        for p in self._procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self._procs = []


def main(b: FleetBench, keep: Path | None) -> int:
    root = keep or Path(tempfile.mkdtemp(prefix="brexit-bench-nats-"))
    root.mkdir(parents=True, exist_ok=True)
    users = {"ncc": secrets.token_urlsafe(12), "sim": secrets.token_urlsafe(12)}
    cluster = NatsCluster(root / "nats", users).start()
    try:
        bench = replace(b, broker=cluster.mqtt(1), broker_sim=cluster.mqtt(0),
                        ncc_login=("ncc", users["ncc"]), sim_login=("sim", users["sim"]))
        return fleet_main(bench, root / "fleet")
    finally:
        cluster.stop()
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)

