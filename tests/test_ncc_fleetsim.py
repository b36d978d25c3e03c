"""The fleet simulator at a small size against a real Mosquitto and the NCC's real ingest:
every payload it publishes passes the contract's JSON Schemas, every node keeps its own
identity and a gap-free seq, acks are honoured, outboxes re-sent, faults injected."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from contract.schemas import Schemas
from contract.topics import NodeAddress
from ncc.bench.broker import HOST, BenchBroker
from ncc.ingest import Ingest
from ncc.sim import Broker
from ncc.simulate.check import ContractCheck, ContractViolation
from ncc.simulate.fleet import FleetRun, FleetSpec
from ncc.simulate.model import FaultKind, SiteModel
from ncc.simulate.profile import arrivals_per_hour, local_hour

SCHEMAS = Schemas.load()


class Collector:
    """Everything published under brexit/v1/ (what a mosquitto_sub would print)."""

    def __init__(self, port: int) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="collector",
                                  protocol=mqtt.MQTTv311)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._ready.set()
        self.client.connect(HOST, port)
        self.client.subscribe("brexit/v1/#", qos=1)
        self.client.loop_start()
        assert self._ready.wait(10)

    def _on_message(self, client: Any, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def schema_of(topic: str) -> str | None:
    if topic.endswith("/queue") and topic.count("/") == 3:
        return "queue"
    if topic.startswith("brexit/v1/ncc/"):
        return "ack" if "/ack/" in topic else "ncc_status"
    address = NodeAddress.parse(topic)
    if address is None:
        return None
    return address.kind if address.kind in ("status", "health", "event", "reply") else None


@pytest.fixture()
def broker(tmp_path: Path) -> Iterator[BenchBroker]:
    with BenchBroker(tmp_path / "broker") as b:
        yield b


def run_fleet(port: int, spec: FleetSpec, *, ncc_after: float | None,
              db: Path) -> tuple[FleetRun, Collector, str]:
    collector = Collector(port)
    out = io.StringIO()
    fleet = FleetRun(spec, Broker(HOST, port), out=out, progress_s=5)
    ingest = Ingest(db, host=HOST, port=port, client_id="ncc-under-test")
    started = threading.Timer(ncc_after or 0.0, ingest.start)
    started.start()
    try:
        fleet.run()
    finally:
        started.cancel()
        started.join()
        ingest.close()
        collector.close()
    return fleet, collector, out.getvalue()


def test_fifty_sites_speak_the_contract_with_gap_free_seqs_and_every_event_acked(
        broker: BenchBroker, tmp_path: Path) -> None:
    spec = FleetSpec(sites=50, nodes_per_site=3, duration_s=20, seed=7, connections=3,
                     fault_rate=60, fault_s=6, will_after_s=2, ramp_s=2,
                     health_interval_s=5, drain_s=30, full_check_every=1)
    fleet, collector, progress = run_fleet(broker.port, spec, ncc_after=4, db=tmp_path / "n.db")
    summary = fleet.summary()
    assert summary.error is None
    assert summary.nodes == 150 and summary.connections == 3

    # every payload on the wire passes the contract's strict schemas
    by_kind: dict[str, int] = defaultdict(int)
    for topic, payload, _ in collector.messages:
        name = schema_of(topic)
        if name is None or name == "ncc_status":
            continue
        assert SCHEMAS.errors(name, json.loads(payload)) == [], (topic, payload)
        by_kind[name] += 1
    assert by_kind["status"] >= 150 and by_kind["health"] >= 150 and by_kind["event"] > 0

    # each node: its own epoch, gap-free seqs from 1 to what it counted, all acked
    seqs: dict[tuple[str, str, str], set[int]] = defaultdict(set)
    for topic, payload, _ in collector.messages:
        if schema_of(topic) == "event":
            e = json.loads(payload)
            seqs[(e["site"], e["node"], e["epoch"])].add(e["seq"])
    record = fleet.record()
    epochs = {n[2] for n in record["nodes"]}
    assert len(epochs) == 150
    for site, node, epoch, last, acked in record["nodes"]:
        assert seqs.get((site, node, epoch), set()) == set(range(1, last + 1))
        assert acked == last
    assert summary.unacked == 0 and summary.acked == summary.events > 0

    # faults of every kind were injected and show in what the nodes said
    assert set(summary.faults) == {k.value for k in FaultKind}
    healths = [json.loads(p) for t, p, _ in collector.messages if t.endswith("/health")]
    assert any(h.get("printer") == "paper_out" for h in healths)
    assert any(h.get("embosser") == "offline" for h in healths)
    assert any(h["buttons"]["state"] == "stuck" for h in healths)
    wills = [t for t, p, _ in collector.messages
             if t.endswith("/status") and json.loads(p)["online"] is False]
    assert wills, "a vanished node's Will (offline) was published by its site"
    births: dict[str, set[int]] = defaultdict(set)
    for t, p, _ in collector.messages:
        if t.endswith("/status") and json.loads(p)["online"]:
            births[t].add(json.loads(p)["session"])
    assert any(len(s) > 1 for s in births.values()), "a node came back in a new session"

    # the NCC came 4 s late: what was sent before was re-sent on its session, then acked
    assert summary.resent > 0
    # a site's uplink was down: its nodes kept what they made meanwhile (a health report at
    # least, when the outage lasted a health interval before the run ended)
    end = record["t0"] + spec.duration_s
    outages = [min(f["repaired_at"] or f["until"], end) - f["at"]
               for f in record["faults"] if f["kind"] == "site_unreachable"]
    assert outages, "a site outage was injected"
    if max(outages) > spec.health_interval_s + 1:
        assert summary.held_while_unreachable > 0
    assert "t=" in progress and "acked" in progress


def test_a_payload_the_schema_rejects_is_never_published(broker: BenchBroker) -> None:
    collector = Collector(broker.port)
    spec = FleetSpec(sites=2, nodes_per_site=2, duration_s=10, ramp_s=0, drain_s=1,
                     fault_rate=0)
    fleet = FleetRun(spec, Broker(HOST, broker.port), out=io.StringIO())
    fleet.sites[1].kiosk.devices["printer"] = "on_fire"  # not a device state of health.json
    summary = fleet.run()
    collector.close()
    assert summary.error is not None and "printer" in summary.error
    assert not any(b"on_fire" in p for _, p, _ in collector.messages)


def test_the_compiled_check_agrees_with_the_contract() -> None:
    check = ContractCheck(full_every=1)
    site = SiteModel.build("pkm-00001", nodes_per_site=3, size=1.0, check=check, epoch_seed=3)
    pubs = site.start(site.kiosk, now=0.0) + site.kiosk_issue(random.Random(2))
    good = {name: payload for topic, payload, _ in pubs if (name := schema_of(topic))}
    bad = [("event", {**good["event"], "seq": 1.0}), ("event", {**good["event"], "seq": 0}),
           ("event", {**good["event"], "type": "ticket.eaten"}),
           ("status", {**good["status"], "online": 1}),
           ("health", {**good["health"], "printer": "jammed"}),
           ("status", {**good["status"], "roles": ["broker"]})]
    for name, payload in good.items():
        check(name, payload)
        assert SCHEMAS.errors(name, payload) == []
    for name, payload in bad:
        assert SCHEMAS.errors(name, payload)
        with pytest.raises(ContractViolation):
            check(name, payload)


@pytest.mark.parametrize(("hour", "rate"), [(6.0, 0.0), (7.6, 30.0), (9.9, 60.0),
                                            (10.5, 35.0), (11.2, 15.0), (14.0, 6.0),
                                            (16.0, 0.0), (32.5, 60.0)])
def test_arrivals_have_a_morning_peak(hour: float, rate: float) -> None:
    assert arrivals_per_hour(hour) == rate


@pytest.mark.parametrize("text", ["7", "24:00", "07:60", "aa:bb", ""])
def test_a_bad_clock_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="--clock"):
        local_hour(text)


@pytest.mark.parametrize(("args", "named"), [
    (["--broker", "localhost", "--sites", "1", "--duration", "1"], "--broker"),
    (["--broker", "127.0.0.1:1", "--sites", "0", "--duration", "1"], "--sites"),
    (["--broker", "127.0.0.1:1", "--sites", "1", "--duration", "0"], "--duration"),
    (["--broker", "127.0.0.1:1", "--sites", "1", "--duration", "1", "--clock", "25:00"],
     "--clock"),
    (["--broker", "127.0.0.1:1", "--sites", "1", "--duration", "1", "--site-prefix", "X"],
     "--site-prefix"),
    (["--broker", "127.0.0.1:1", "--sites", "1", "--duration", "1", "--password-file",
      "/nonexistent"], "--password-file"),
])
def test_bad_options_are_one_line(args: list[str], named: str) -> None:
    done = subprocess.run([sys.executable, "-m", "edge.cli", "ncc", "simulate", *args],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and named in done.stderr
    assert "Traceback" not in done.stderr
