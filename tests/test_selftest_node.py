"""The self-test inside a running simulated node: the MQTT command and the kiosk gesture."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from contract.schemas import Schemas
from edge.braille.codec import decode
from edge.config import load_config
from edge.mqtt.commands import CommandDispatcher, Reply
from edge.node import Node
from edge.node_cli import control
from edge.queue.outbox import Outbox
from edge.simulation import Simulation

UUID = "0b8a3f6e-2c4d-4f1a-9e7b-5d6c8a9b0c1d"


class Technician:
    """Presses whatever button the self-test asks for, as a person at the node would."""

    def __init__(self, sim: Simulation, node: Node) -> None:
        self.pressed: list[str] = []
        self._stop = threading.Event()
        self._sim, self._node = sim, node
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            wanted = self._node.selftests.awaited
            if wanted is not None and (not self.pressed or self.pressed[-1] != wanted):
                self._sim.press(wanted)
                self.pressed.append(wanted)
            time.sleep(0.01)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def node(tmp_path: Path) -> Iterator[tuple[Simulation, Node]]:
    config = load_config(None)
    sim = Simulation(config, tmp_path)
    n = Node(config, tmp_path, sim.hardware(), probe_interval_s=0.3).start()
    yield sim, n
    n.stop()
    sim.close()


def selftest_events(data: Path) -> list[dict[str, object]]:
    outbox = Outbox(data / "queue.db")
    try:
        events = [e.envelope("janti", "demo") for e in outbox.unacked(1000)]
    finally:
        outbox.close()
    return [e for e in events if e["type"] == "selftest"]


def test_command_runs_the_selftest_on_the_node_devices(node: tuple[Simulation, Node],
                                                       tmp_path: Path) -> None:
    sim, n = node
    assert sim.printer is not None and sim.cells is not None
    sim.printer.paper_out = True
    dispatcher = CommandDispatcher(actions=n, schemas=Schemas.load())
    technician = Technician(sim, n)
    try:
        reply = dispatcher.handle("selftest", json.dumps({"id": UUID}).encode())
        assert reply == Reply(UUID, True, data={"started": True, "trigger": "command"})
        again = dispatcher.handle("selftest", json.dumps({"id": UUID[:-1] + "e"}).encode())
        assert again.ok is False and again.error == "a self-test is already running"
        sim.press("A")  # a patient at the kiosk while it runs: still a ticket
        assert n.selftests.running
        assert n.selftests.wait(120)
    finally:
        technician.stop()
    assert technician.pressed == []  # a remote self-test never asks for a button
    assert [tk.number for tk in n.ctx.engine.tickets()] == ["A-001"]
    (event,) = selftest_events(tmp_path)
    assert Schemas.load().errors("event", event) == []
    data = event["data"]
    assert isinstance(data, dict) and data["trigger"] == "command" and "E21" in data["codes"]
    checks = {c["check"]: c["status"] for c in data["checks"]}
    assert checks["button:done-2"] == "skip"
    assert checks["embosser"] == checks["cells"] == "pass"
    assert n.health()["printer"] == "paper_out"  # and so the NCC's health view shows it
    shown = decode(sim.cells.dots()).strip()  # the test pattern is gone: the patient's
    assert shown.lower().startswith("a") and "001" in shown, shown  # number is back
    report = (tmp_path / "selftest.txt").read_text(encoding="utf-8")
    assert "E21: printer kertas habis" in report
    spoken = [s.utterance.text for s in n.ctx.speech.spoken if s.utterance.channel == "selftest"]
    assert not any(s.startswith("Tekan tombol") for s in spoken)
    assert spoken[-1].startswith("Uji mandiri selesai.") and "Kode E dua satu" in spoken[-1]


def test_holding_repeat_and_help_for_5_s_starts_it(node: tuple[Simulation, Node],
                                                   tmp_path: Path) -> None:
    sim, n = node
    n.selftests.button_timeout_s = 0.2  # nobody answers the prompts
    pins = []
    for name in ("repeat", "help"):
        board, gpio = sim.resolve(name)
        assert isinstance(board.pin_factory, MockFactory)
        pins.append(board.pin_factory.pin(gpio))
    for pin in pins:
        pin.drive_low()
    time.sleep(5.3)  # the gesture's length; stuck_s (10 s) is longer
    for pin in pins:
        pin.drive_high()
    deadline = time.monotonic() + 30
    while not selftest_events(tmp_path) and time.monotonic() < deadline:
        n.selftests.wait(1)
    (event,) = selftest_events(tmp_path)
    data = event["data"]
    assert isinstance(data, dict) and data["trigger"] == "kiosk"
    statuses = {c["check"]: c["status"] for c in data["checks"]}
    assert statuses["button:service-1"] == statuses["button:help"] == "skip"  # nobody there


def test_a_short_hold_is_not_the_gesture(node: tuple[Simulation, Node]) -> None:
    sim, n = node
    for name in ("repeat", "help"):
        sim.press(name, 0.3)
    assert not n.selftests.running


def test_the_simulate_control_line_starts_it_and_presses_answer_it(
    node: tuple[Simulation, Node], tmp_path: Path
) -> None:
    sim, n = node
    reply = control(sim, n, ["selftest"])
    assert reply == 'selftest {"started": true, "trigger": "kiosk"}'
    for _ in range(14):  # answer each "tekan tombol …" with the control line a person types
        deadline = time.monotonic() + 30
        while n.selftests.awaited is None and n.selftests.running:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        wanted = n.selftests.awaited
        if wanted is None:
            break
        control(sim, n, ["press", wanted])
        while n.selftests.awaited == wanted:
            time.sleep(0.01)
    assert n.selftests.wait(120)
    (event,) = selftest_events(tmp_path)
    checks = {c["check"]: c["status"] for c in event["data"]["checks"]}  # type: ignore[index]
    assert checks["button:service-1"] == checks["button:done-2"] == "pass"
    assert n.ctx.engine.tickets() == []


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_node_stopped_during_a_selftest_ends_it_quietly(tmp_path: Path) -> None:
    config = load_config(None)
    with Simulation(config, tmp_path) as sim:
        n = Node(config, tmp_path, sim.hardware(), probe_interval_s=0.3).start()
        assert n.selftest()["started"] is True
        n.stop()  # speech and devices close under the running self-test
        assert n.selftests.wait(30)
