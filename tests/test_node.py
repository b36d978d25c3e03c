"""A whole simulated node in this process: presses through mock pins, real outputs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory
from nodeproc import embossed_lines

from edge.braille.codec import decode
from edge.config import NodeConfig, load_config, parse_config
from edge.node import Node
from edge.queue.outbox import Outbox
from edge.simulation import Simulation
from edge.speech.worker import Outcome


class Running:
    """A started node, its simulation, and what it reported."""

    def __init__(self, config: NodeConfig, data: Path) -> None:
        self.sim = Simulation(config, data)
        self.node = Node(config, data, self.sim.hardware(), probe_interval_s=0.3)
        self.reports: list[tuple[str, dict[str, object]]] = []
        self.node.ctx.listeners.append(lambda what, d: self.reports.append((what, d)))
        self.node.start()

    def wait_for(self, what: str, count: int = 1, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(1 for w, _ in self.reports if w == what) >= count:
                return
            time.sleep(0.01)
        raise AssertionError(f"{count} × {what!r} not reported: {self.reports}")

    def count(self, what: str) -> int:
        return sum(1 for w, _ in self.reports if w == what)

    def spoken(self) -> list[str]:
        self.node.ctx.speech.wait_idle(60)
        return [s.utterance.text for s in self.node.ctx.speech.spoken
                if s.outcome is Outcome.SPOKEN]

    def pin(self, name: str):  # type: ignore[no-untyped-def]
        board, gpio = self.sim.resolve(name)
        assert isinstance(board.pin_factory, MockFactory)
        return board.pin_factory.pin(gpio)


def quick_taps(config: NodeConfig) -> NodeConfig:
    """The demo config, with a double-tap guard shorter than a simulated press: two presses
    of one button in a row are two presses, with no waiting between them."""
    return replace(config, buttons=replace(config.buttons, double_tap_s=0.02))


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    r = Running(quick_taps(load_config(None)), tmp_path)
    yield r
    r.node.stop()
    r.sim.close()


def fast_buttons_config() -> NodeConfig:
    raw = {
        "site": "janti", "node": "kiosk-1", "site_name": "UPT Puskesmas Janti",
        "roles": ["kiosk", "caller"],
        "services": [{"code": "A", "name": "Poli Umum", "button": "service-1"}],
        "counters": [{"number": 1, "services": ["A"]}],
        "buttons": {"debounce_ms": 20, "hold_s": 0.4, "stuck_s": 1.0, "double_tap_ms": 20},
        "speaker": {"rate": 200},
    }
    return parse_config(raw, source="test.toml")


def test_a_press_gives_a_spoken_embossed_and_printed_ticket(running: Running) -> None:
    running.sim.press("A")
    running.wait_for("issued")
    assert running.sim.embosser is not None and running.sim.printer is not None
    running.sim.embosser.wait_for_jobs(1, timeout=10)
    printed = running.sim.printer.wait_for_jobs(1, timeout=10)[0]
    assert printed.big_text == "A-001"
    assert any("Poli Umum" in line for line in printed.text_lines)
    brf = sorted((running.node.data_dir / "embossed").glob("*.brf"))
    assert embossed_lines(brf[0])[:2] == ["Nomor antrean A-001", "Poli Umum"]
    assert running.spoken()[0].startswith("Nomor antrean Anda A satu, Poli Umum.")


def test_chatter_is_one_ticket(running: Running) -> None:
    pin = running.pin("B")
    for _ in range(10):  # ten bounces within about 5 ms
        pin.drive_low()
        time.sleep(0.0002)
        pin.drive_high()
        time.sleep(0.0002)
    pin.drive_low()
    time.sleep(0.1)
    pin.drive_high()
    time.sleep(0.8)
    assert running.count("issued") == 1
    assert [t.number for t in running.node.ctx.engine.tickets()] == ["B-001"]


def test_repeat_says_the_ticket_again_and_help_is_an_event(running: Running) -> None:
    running.sim.press("C")
    running.wait_for("issued")
    running.node.ctx.speech.wait_idle(60)
    running.sim.press("repeat")
    time.sleep(0.2)
    running.node.ctx.speech.wait_idle(60)  # help would interrupt the repeat (same channel)
    running.sim.press("help")
    running.wait_for("help")
    spoken = running.spoken()
    assert spoken[0] == spoken[1]
    assert "bantuan" in spoken[2]
    types = [e.type for e in Outbox(running.node.data_dir / "queue.db").unacked()]
    assert types[-1] == "help.requested"


def test_calls_are_spoken_with_the_counter(running: Running) -> None:
    running.sim.press("next-1")
    running.sim.press("A")
    running.wait_for("issued")
    running.node.ctx.speech.wait_idle(60)  # a new call on counter 1 cuts its last words
    running.sim.press("next-1")
    running.wait_for("called")
    spoken = running.spoken()
    assert spoken[0] == "Tidak ada antrean yang menunggu."
    assert spoken[-1] == "Nomor antrean A satu, silakan menuju loket satu."
    assert running.node.queue_snapshot()["serving"]["1"] == "A-001"


def test_paper_out_the_patient_still_hears_the_number(running: Running) -> None:
    assert running.sim.printer is not None
    running.sim.printer.paper_out = True
    running.sim.press("A")
    running.wait_for("fault")
    assert running.node.health()["printer"] == "paper_out"
    running.node.ctx.speech.wait_idle(60)  # the next press would interrupt this patient's
    running.sim.press("D")
    running.wait_for("issued", 2)
    spoken = " ".join(running.spoken())
    assert "Nomor antrean Anda A satu" in spoken
    assert "Nomor antrean Anda De satu" in spoken
    assert "Mohon ingat nomor antrean Anda" in spoken
    assert running.sim.embosser is not None
    assert len(running.sim.embosser.wait_for_jobs(2, timeout=10)) == 2  # Braille still works
    assert running.sim.printer.jobs == []
    events = Outbox(running.node.data_dir / "queue.db").unacked()
    faults = [e.data for e in events if e.type == "device.fault"]
    assert faults[0]["device"] == "printer" and faults[0]["state"] == "paper_out"

    running.sim.printer.paper_out = False  # paper refilled: found without a new ticket
    running.wait_for("recovered")
    assert running.node.health()["printer"] == "ok"
    types = [e.type for e in Outbox(running.node.data_dir / "queue.db").unacked()]
    assert types[-1] == "device.recovered"


def test_a_stuck_button_is_a_fault_not_a_flood(tmp_path: Path) -> None:
    r = Running(fast_buttons_config(), tmp_path)
    try:
        r.sim.press("A", seconds=2.5)
        r.wait_for("recovered")
        assert r.count("issued") == 1
        fault = next(d for w, d in r.reports if w == "fault")
        assert fault == {"device": "button", "name": "service-1", "state": "stuck"}
        recovered = next(d for w, d in r.reports if w == "recovered")
        assert recovered == {"device": "button", "name": "service-1", "state": "ok"}
        assert "Tombol tertahan" in " ".join(r.spoken())
        r.sim.press("A")
        r.wait_for("issued", 2)  # after recovery the button works again
    finally:
        r.node.stop()
        r.sim.close()


def test_holding_repeat_raises_the_volume(tmp_path: Path) -> None:
    r = Running(fast_buttons_config(), tmp_path)
    try:
        before = r.node.ctx.speech.volume("kiosk")
        r.sim.press("repeat", seconds=0.7)
        r.wait_for("volume")
        assert r.node.ctx.speech.volume("kiosk") > before
    finally:
        r.node.stop()
        r.sim.close()


def _cells_text(r: Running, expected: str, timeout: float = 10.0) -> str:
    assert r.sim.cells is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = decode(r.sim.cells.dots()).strip()
        if text == expected:
            return text
        time.sleep(0.02)
    return decode(r.sim.cells.dots()).strip()


def test_the_cells_show_the_patients_number_and_a_key_speaks_it(running: Running) -> None:
    running.sim.press("A")
    running.sim.press("B")
    running.wait_for("issued", 2)
    running.sim.press("B")
    running.wait_for("issued", 3)
    assert _cells_text(running, "B-002 1") == "B-002 1"
    running.node.ctx.speech.wait_idle(60)
    assert running.sim.cells is not None
    running.sim.cells.press(0)
    running.wait_for("cell-key")
    assert running.spoken()[-1] == (
        "Nomor antrean Anda Be dua, Poli Gigi. Ada satu orang sebelum Anda."
    )


def test_a_staff_message_on_the_cells(running: Running) -> None:
    running.node.show_message("tunggu 5 menit")
    assert _cells_text(running, "tunggu 5 menit") == "tunggu 5 menit"


def test_a_staff_message_outlives_the_kiosks_idle_refresh(running: Running) -> None:
    running.node.show_message("tunggu 5 menit")
    assert _cells_text(running, "tunggu 5 menit") == "tunggu 5 menit"
    assert running.node.kiosk is not None
    running.node.kiosk.tick()  # what the node does every two seconds between patients
    assert running.node.ctx.cells is not None and running.node.ctx.cells.drain()
    assert decode(running.sim.cells.dots()).strip() == "tunggu 5 menit"  # type: ignore[union-attr]
    running.node.show_message("")  # cleared: the idle text is back
    assert _cells_text(running, "") == ""
