"""60,000 retained messages at once: 30,000 nodes' status and health wait on the central
broker when the NCC starts (a national restart). Every one is stored, every node online.

The broker is the demo's central broker (rendered by mqtt_config with production
persistence settings): the test pair's broker saves its database after every change."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest
from brokers import Address, Login, MqttProbe, wait_until

from contract.fleet import parse_fleet
from mqtt_config.process import free_port
from ncc import demo
from ncc.config import AlarmSettings
from ncc.monitor import Monitor
from ncc.sim import SimNode, SimSite

NODES = 30_000


@pytest.mark.slow
def test_sixty_thousand_retained_messages_on_start(tmp_path: Path) -> None:
    fleet = parse_fleet({"site": [{"id": "janti", "name": "UPT Puskesmas Janti",
                                   "kecamatan": "Sukun", "nodes": []}]})
    central = demo.provision_central(tmp_path, fleet, free_port())
    broker = demo.central_broker(central).start()
    try:
        address = Address(demo.HOST, central.port, central.ca_file)
        site = SimSite("janti", services=("A",), counters=(1,))
        (_, birth, _), (_, health, _) = SimNode(site, "n", roles=("kiosk",)).connect()[:2]
        with MqttProbe(address, Login("bridge.janti", central.bridges["janti"])) as bridge:
            for i in range(NODES):
                for leaf, payload in (("status", birth), ("health", health)):
                    bridge.client.publish(f"brexit/v1/janti/n{i:05d}/{leaf}",
                                          json.dumps(payload), qos=0, retain=True)
            bridge.publish("brexit/v1/janti/n99999/status", b"", retain=True)  # in order
        config = demo.demo_config(tmp_path, central, ("127.0.0.1", 0))
        config = replace(config, alarms=replace(AlarmSettings(), silent_after_intervals=10**6))
        started = time.monotonic()
        with Monitor(config, fleet=fleet) as monitor:
            def stored() -> bool:
                rows = monitor.store.nodes()
                return len(rows) == NODES and all(r.online and r.health for r in rows)

            wait_until(stored, f"{NODES} nodes with status and health", 600)
            took = time.monotonic() - started
            wait_until(lambda: monitor.node_state_of("janti", "n29999") == "online",
                       "the evaluation", 120)
            rejected = monitor.ingest.stats().rejected
            connected = monitor.ingest.connected
            online = monitor.nodes(site="janti", state="online", limit=1)["total"]
    finally:
        broker.stop()
    print(f"{2 * NODES} retained messages stored in {took:.1f} s")
    assert rejected == 0 and connected
    assert online == NODES
