"""An output worker after ``close()``: it refuses work aloud, never queues it to vanish."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_node import Running, quick_taps

from edge.config import load_config
from edge.devices.state import DeviceError, DeviceState
from edge.devices.worker import OutputWorker, WorkerClosed
from edge.speech import phrases


class Lamp:
    """A driver that records what it was asked to do."""

    def __init__(self) -> None:
        self.lit: list[int] = []

    def light(self, n: int) -> None:
        self.lit.append(n)

    def state(self) -> DeviceState:
        return DeviceState.OK

    def close(self) -> None:
        return None


def test_submit_after_close_is_refused_and_reported() -> None:
    """Was: the job was queued behind the stop sentinel and silently never ran."""
    lamp = Lamp()
    states: list[tuple[str, DeviceState, str]] = []
    worker = OutputWorker("lamp", lambda: lamp, on_state=lambda *s: states.append(s))
    worker.submit(lambda d: d.light(1), label="one")
    worker.close()
    worker.close()  # idempotent
    with pytest.raises(WorkerClosed, match=r"lamp.*closed.*two") as refused:
        worker.submit(lambda d: d.light(2), label="two")
    assert isinstance(refused.value, DeviceError)
    assert refused.value.state is DeviceState.OFFLINE
    assert lamp.lit == [1]
    assert worker.state() is DeviceState.OFFLINE
    assert [(n, s) for n, s, _ in states] == [("lamp", DeviceState.OFFLINE)]
    assert "closed" in states[0][2]
    assert worker.drain(0.1)  # nothing waits for a job that will never run
    with pytest.raises(WorkerClosed):
        worker.submit(lambda d: d.light(3), label="three")
    assert len(states) == 1  # the fault is reported once


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    r = Running(quick_taps(load_config(None)), tmp_path)
    yield r
    r.node.stop()
    r.sim.close()


def test_press_with_a_closed_embosser_is_spoken_shown_and_raised(running: Running) -> None:
    """Was: the ticket went to the closed embosser's queue and was lost without a word."""
    embosser = running.node.ctx.embosser
    assert embosser is not None
    embosser.close()
    running.sim.press("A")
    running.wait_for("issued")
    running.wait_for("fault")
    assert ("fault", "embosser") in [(w, d.get("device")) for w, d in running.reports]
    assert phrases.device_fault_sentence("embosser", "A-001") in running.spoken()
    assert running.node.health()["embosser"] == "offline"
    with sqlite3.connect(running.node.data_dir / "queue.db") as conn:
        rows = conn.execute("SELECT type, data FROM outbox ORDER BY seq").fetchall()
    faults = [json.loads(d) for t, d in rows if t == "device.fault"]
    assert [(f["device"], f["state"]) for f in faults] == [("embosser", "offline")]
    printer = running.node.ctx.printer
    assert printer is not None and printer.drain(30)
    assert any("A-001" in p.read_text() for p in (running.node.data_dir / "printed").glob("*"))
