"""BPJS in a whole simulated node: staff register a ticket with a control line, the
counter calls it, BPJS (a local mock) hears it; a refusal is spoken to staff, shown in
health and raised as a device.fault event."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bpjs_mock import CONS_ID, SECRET, USER_KEY, AntreanMock, Mode

from edge.bpjs.config import Credentials, write_credentials
from edge.bpjs.sync import wait_idle
from edge.config import load_config
from edge.node import Node
from edge.node_cli import control
from edge.queue.outbox import Outbox
from edge.simulation import Simulation

CARD = "0001234567890"


def until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.fixture
def mock() -> Iterator[AntreanMock]:
    with AntreanMock() as m:
        yield m


@pytest.fixture
def running(tmp_path: Path, mock: AntreanMock) -> Iterator[tuple[Simulation, Node]]:
    write_credentials(tmp_path / "bpjs.toml", Credentials(CONS_ID, SECRET, USER_KEY))
    demo = Path("edge/data/demo.toml").read_text(encoding="utf-8")
    (tmp_path / "node.toml").write_text(demo + f"""
[bpjs]
base_url = "{mock.base_url}"
credentials_file = "bpjs.toml"
timeout_s = 1
retry_min_s = 0.05
retry_max_s = 0.2
[bpjs.poli.A]
kodepoli = "001"
namapoli = "UMUM"
""", encoding="utf-8")
    config = load_config(tmp_path / "node.toml")
    config = dataclasses.replace(config, buttons=dataclasses.replace(
        config.buttons, double_tap_s=0.02))
    data = tmp_path / "data"
    with Simulation(config, data) as sim:
        node = Node(config, data, sim.hardware(), probe_interval_s=0.3).start()
        try:
            yield sim, node
        finally:
            node.stop()


def test_a_registered_ticket_is_added_and_called_at_bpjs(
    running: tuple[Simulation, Node], mock: AntreanMock
) -> None:
    sim, node = running
    control(sim, node, ["press", "A"])
    deadline = time.monotonic() + 10
    while node.ctx.engine.find("A-001") is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert control(sim, node, ["bpjs", "A-001", CARD]) == "bpjs A-001 registered"
    control(sim, node, ["press", "next-1"])
    deadline = time.monotonic() + 10
    while len(mock.calls()) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [(c.call, c.body["nomorantrean" if c.call == "add" else "status"])
            for c in mock.calls()] == [("add", "A-001"), ("panggil", 1)]
    ok = {"state": "ok", "pending": 0, "refused": 0, "last_error": None}
    until(lambda: json.loads(control(sim, node, ["health"]) or "{}")["bpjs"] == ok)


def test_a_refusal_is_spoken_to_staff_and_raised(
    running: tuple[Simulation, Node], mock: AntreanMock
) -> None:
    sim, node = running
    mock.state.mode = Mode.REFUSE
    control(sim, node, ["press", "A"])
    deadline = time.monotonic() + 10
    while node.ctx.engine.find("A-001") is None and time.monotonic() < deadline:
        time.sleep(0.02)
    control(sim, node, ["bpjs", "A-001", CARD])
    assert wait_idle(node.data_dir / "queue.db", 10)
    node.ctx.speech.wait_idle(30)
    said = [s.utterance for s in node.ctx.speech.spoken if s.utterance.channel == "staff"]
    assert [u.text for u in said] == [
        "Perhatian petugas: data BPJS untuk antrean A satu ditolak. Periksa nomor kartu pasien."]
    faults = [e.data for e in Outbox(node.data_dir / "queue.db").unacked()
              if e.type == "device.fault"]
    assert [(f["device"], f["state"]) for f in faults] == [("bpjs", "refused")]
    assert CARD not in json.dumps(faults)
    until(lambda: node.health()["bpjs"]["state"] == "refused")


def test_a_bad_card_number_is_one_error_line(running: tuple[Simulation, Node]) -> None:
    sim, node = running
    with pytest.raises(ValueError, match="13 digits"):
        control(sim, node, ["bpjs", "A-001", "123"])
