"""Benchmark: a kiosk button press until its ``ticket.issued`` event reaches a consumer on the
central broker, through the site Mosquitto and its TLS bridge. Prints JSON.

Everything is real except the GPIO pin (gpiozero MockFactory) and the printer/embosser at
the far end of their ptys: the brokers are Mosquitto made by ``brexit broker`` on loopback,
the node is the simulated node with its MqttLink, the NCC's ingest acks as it stores.

    .venv/bin/python benchmarks/mqtt_press_to_central.py --presses 200
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from brokers import Address, Login, provisioned_pair, wait_until  # noqa: E402

from edge import __version__  # noqa: E402
from edge.config import MqttConfig, load_config  # noqa: E402
from edge.devices.debounce import DebounceConfig  # noqa: E402
from edge.mqtt.link import MqttLink  # noqa: E402
from edge.node import Node  # noqa: E402
from edge.simulation import Simulation  # noqa: E402
from ncc.ingest import Ingest  # noqa: E402

SERVICES = "ABCD"
EVENT_TOPIC = "brexit/v1/janti/kiosk-1/event"


class Arrivals:
    """A subscriber on the central broker noting when each ticket's event arrives."""

    def __init__(self, address: Address, login: Login) -> None:
        self.times: dict[str, float] = {}
        self._ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self.client.username_pw_set(login.username, login.password)
        if address.ca is not None:
            self.client.tls_set(ca_certs=str(address.ca))
        self.client.on_connect = lambda c, *_: c.subscribe(EVENT_TOPIC, 1)
        self.client.on_subscribe = lambda *_: self._ready.set()
        self.client.on_message = self._on_message
        self.client.connect(address.host, address.port)
        self.client.loop_start()
        self._ready.wait(20)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        now = time.monotonic()
        event = json.loads(msg.payload)
        if event["type"] == "ticket.issued":
            self.times.setdefault(event["data"]["number"], now)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def run(presses: int, root: Path) -> dict[str, object]:
    pair = provisioned_pair(root)
    try:
        config = replace(load_config(None), node="kiosk-1")
        login = pair.node()
        sim = Simulation(config, root / "node")
        node = Node(config, root / "node", sim.hardware()).start()
        link = MqttLink(
            MqttConfig(host=pair.site_lan.host, port=pair.site_lan.port,
                       username=login.username, password=login.password),
            site="janti", node="kiosk-1", roles=sorted(config.roles), version=__version__,
            outbox_path=node.ctx.engine.db_path, actions=node,
        )
        node.ctx.notifier = link
        link.start()
        ingest = Ingest(root / "ncc.db", host=pair.central.host, port=pair.central.port,
                        username="ncc", password=pair.ncc.password, tls_ca=pair.central.ca)
        ingest.start()
        arrivals = Arrivals(pair.central, pair.ncc)
        try:
            return _measure(presses, sim, node, arrivals)
        finally:
            arrivals.close()
            ingest.close()
            link.close()
            node.stop()
            sim.close()
    finally:
        pair.close()


def _measure(presses: int, sim: Simulation, node: Node, arrivals: Arrivals) -> dict[str, object]:
    engine = node.ctx.engine
    spacing = DebounceConfig().min_interval_s / len(SERVICES) + 0.05
    pressed: list[float] = []  # press i issues ticket i (presses respect the flood guard)
    for i in range(presses):
        t0 = time.monotonic()
        sim.press(SERVICES[i % len(SERVICES)])
        pressed.append(t0)
        time.sleep(max(0.0, t0 + spacing - time.monotonic()))
    wait_until(lambda: len(arrivals.times) >= presses, "every event at the central broker", 120)
    tickets = engine.tickets()
    latencies = sorted(arrivals.times[tickets[i].number] - t0 for i, t0 in enumerate(pressed))
    ms = [x * 1000 for x in latencies]
    return {
        "benchmark": "mqtt_press_to_central",
        "path": "press -> queue engine -> outbox -> MqttLink -> site Mosquitto -> TLS bridge "
                "-> central Mosquitto -> subscriber",
        "presses": presses,
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 2),
        "min_ms": round(ms[0], 2),
        "max_ms": round(ms[-1], 2),
        "note": "from the pin's falling edge (a press is reported on its leading edge)",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--presses", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(run(args.presses, Path(tmp))))


if __name__ == "__main__":
    main()
