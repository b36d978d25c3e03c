"""A full disk under the node's data directory: the press is apologised for, the fault is
in health and in the outbox for the NCC, and the node recovers by itself when space returns.

The data directory is a real tmpfs of a few MiB, filled to the last byte (tests/disks.py).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from disks import fill, small_tmpfs
from nodeproc import NodeProcess
from test_node import Running

from edge.config import load_config
from edge.node_actions import CommandError
from edge.queue.engine import QueueEngine
from edge.queue.models import StorageError
from edge.speech import phrases
from edge.speech.audio import read_wav, rms
from edge.storage import RESERVE_NAME

APOLOGY = phrases.storage_fault_sentence()


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "disk", size_mib=8) as where:
        yield where


def outbox_types(db: Path) -> list[tuple[str, dict[str, object]]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT type, data FROM outbox ORDER BY seq").fetchall()
    return [(t, json.loads(d)) for t, d in rows]


def storage_events(db: Path) -> list[tuple[str, object]]:
    return [(t, d.get("state")) for t, d in outbox_types(db) if d.get("device") == "storage"]


def test_engine_on_a_full_disk_raises_storage_error_and_continues(disk: Path) -> None:
    """Was: sqlite3.OperationalError 'cannot rollback - no transaction is active'."""
    engine = QueueEngine(disk / "queue.db", load_config(None))
    assert [engine.issue("A").ticket.number for _ in range(3)] == ["A-001", "A-002", "A-003"]
    filler = fill(disk)
    with pytest.raises(StorageError) as failed:
        for _ in range(50):  # the WAL may still have room for a commit or two
            engine.issue("A")
    assert failed.value.full and "full" in str(failed.value)
    issued_while_full = len(engine.tickets()) - 3
    filler.unlink()
    after = engine.issue("A").ticket.number
    numbers = [t.number for t in engine.tickets()]
    assert numbers == [f"A-{n:03d}" for n in range(1, len(numbers) + 1)]  # no gap, no double
    assert after == f"A-{4 + issued_while_full:03d}"
    engine.close()


def test_engine_started_on_a_full_disk_opens_when_space_returns(disk: Path) -> None:
    """Was: a traceback from connect() at start."""
    filler = fill(disk)
    engine = QueueEngine(disk / "queue.db", load_config(None))
    assert engine.storage_error is not None
    with pytest.raises(StorageError):
        engine.issue("A")
    filler.unlink()
    assert engine.issue("A").ticket.number == "A-001"
    assert engine.storage_error is None
    engine.close()


@pytest.fixture
def node_on_disk(disk: Path) -> Iterator[Running]:
    r = Running(load_config(None), disk)
    yield r
    r.node.stop()
    r.sim.close()


def test_full_disk_press_apologises_shows_and_recovers(node_on_disk: Running) -> None:
    running, data = node_on_disk, node_on_disk.node.data_dir
    assert (data / RESERVE_NAME).stat().st_size > 0
    running.sim.press("A")
    running.wait_for("issued")
    running.node.ctx.speech.wait_idle(60)
    filler = fill(data)
    for _n in range(1, 40):  # presses until the WAL has no room left
        running.sim.press("A")
        time.sleep(0.6)  # past the double-tap guard
        if running.count("not-stored"):
            break
    running.wait_for("not-stored")
    running.wait_for("fault")
    assert ("fault", {"device": "storage"}) in [(w, {"device": d.get("device")})
                                                for w, d in running.reports]
    storage = running.node.health()["storage"]
    assert storage["state"] == "full" and storage["free_bytes"] is not None
    assert "full" in storage["error"]
    assert APOLOGY in running.spoken()
    assert next(s.utterance.channel for s in running.node.ctx.speech.spoken
            if s.utterance.text == APOLOGY) == "kiosk"
    assert ("device.fault", "full") in storage_events(data / "queue.db")
    issued = [t.number for t in running.node.ctx.engine.tickets()]

    filler.unlink()
    running.sim.press("A")
    running.wait_for("issued", count=len(issued) + 1)
    running.wait_for("recovered")
    numbers = [t.number for t in running.node.ctx.engine.tickets()]
    assert numbers == [f"A-{n:03d}" for n in range(1, len(issued) + 2)]
    assert running.node.health()["storage"]["state"] == "ok"
    assert storage_events(data / "queue.db")[-2:] == [("device.fault", "full"),
                                                       ("device.recovered", "ok")]
    assert (data / RESERVE_NAME).stat().st_size > 0


def test_node_started_on_a_full_disk_stores_its_fault_when_it_can(disk: Path) -> None:
    """The database cannot even be created: the fault waits in memory, then goes out."""
    for sub in ("embossed", "printed", "speech"):
        (disk / sub).mkdir()
    filler = fill(disk)
    running = Running(load_config(None), disk)
    try:
        assert running.node.health()["storage"]["state"] in ("full", "error")
        running.sim.press("A")
        running.wait_for("not-stored")
        running.sim.press("help")  # cannot be stored either: it waits in memory
        running.wait_for("help")
        running.node.ctx.speech.wait_idle(60)
        said = [(s.utterance.text, s.utterance.channel) for s in running.node.ctx.speech.spoken]
        assert (APOLOGY, "kiosk") in said  # said; its WAV may not fit on this full disk
        filler.unlink()
        running.wait_for("recovered", timeout=30)  # the router's tick finds space again
        assert [(t, d.get("state")) for t, d in outbox_types(disk / "queue.db")] == [
            ("queue.reset", None), ("device.fault", "full"), ("help.requested", None),
            ("device.recovered", "ok")]
        running.sim.press("A")
        running.wait_for("issued")
        assert [t.number for t in running.node.ctx.engine.tickets()] == ["A-001"]
    finally:
        running.node.stop()
        running.sim.close()


def test_simulated_node_process_on_a_full_tmpfs(disk: Path) -> None:
    """The done-when of issue 7: apology in speech, storage fault in health, then the
    next number with no gap and no double once space is freed."""
    node = NodeProcess(disk)
    assert press(node).startswith("issued number=A-001")
    wait_for_wavs(disk / "speech", 1)
    filler = fill(disk)
    issued_while_full = 0
    while press(node).startswith("issued "):  # the WAL may still hold a commit or two
        issued_while_full += 1
        assert issued_while_full < 40
    node.expect("fault device=storage state=full")
    node.send("health")
    storage = json.loads(node.expect("{"))["storage"]
    assert storage["state"] == "full" and "full" in storage["error"]
    wavs = wait_for_wavs(disk / "speech", 2 + issued_while_full)
    apology = read_wav(wavs[-1])
    assert wavs[-1].name.endswith("-kiosk.wav") and apology.duration > 3 and rms(apology) > 100
    filler.unlink()
    line = press(node)
    if "recovered device=storage" not in node.seen:  # the tick may see the space first
        node.expect("recovered device=storage")
    assert node.quit() == 0
    with sqlite3.connect(disk / "queue.db") as conn:
        numbers = [r[0] for r in conn.execute("SELECT number FROM ticket ORDER BY id")]
    assert numbers == [f"A-{n:03d}" for n in range(1, len(numbers) + 1)]
    assert line == f"issued number={numbers[-1]} ahead={len(numbers) - 1}"
    assert storage_events(disk / "queue.db") == [("device.fault", "full"),
                                                 ("device.recovered", "ok")]


def press(node: NodeProcess, tries: int = 5) -> str:
    """Press A until the node answers (issued or not-stored); returns the answer.

    A press less than 0.5 s after the previous one is a double tap and gives nothing (the
    buttons' flood guard), so an unanswered press is repeated.
    """
    for _ in range(tries):
        node.send("press A")
        try:
            line = expect_any(node, ("issued ", "not-stored "), timeout=4.0)
        except AssertionError:
            continue
        time.sleep(0.6)  # past the double-tap guard
        return line
    raise AssertionError(f"no answer to {tries} presses; saw {node.seen[-20:]}")


def expect_any(node: NodeProcess, prefixes: tuple[str, ...], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        line = node.expect("", timeout=max(0.01, deadline - time.monotonic()))
        if line.startswith(prefixes):
            return line


def wait_for_wavs(directory: Path, count: int, timeout: float = 60.0) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        wavs = sorted(directory.glob("*.wav"))
        if len(wavs) >= count:
            time.sleep(0.2)  # the worker writes the file in one go; let it close
            return wavs
        time.sleep(0.05)
    raise AssertionError(f"{count} WAV files not written in {directory}")


def test_counter_action_on_a_full_disk_is_refused_aloud(node_on_disk: Running) -> None:
    """A command gets ok:false with the reason; the counter hears why; nothing half-done."""
    running, data = node_on_disk, node_on_disk.node.data_dir
    engine = running.node.ctx.engine
    engine.issue("A")
    filler = fill(data)
    (data / RESERVE_NAME).unlink()  # no reserve left either: the fault itself must wait
    fill(data, "filler-2")
    with pytest.raises(CommandError, match="not stored"):
        for _ in range(50):  # the WAL may still hold a commit or two (each call writes)
            running.node.call_next(1)
    running.node.ctx.speech.wait_idle(60)
    said = [(s.utterance.text, s.utterance.channel) for s in running.node.ctx.speech.spoken]
    assert (phrases.storage_fault_staff_sentence(), "counter-1") in said
    assert running.node.health()["storage"]["state"] == "full"
    filler.unlink()
    (data / "filler-2").unlink()
    running.wait_for("recovered", timeout=30)
    assert storage_events(data / "queue.db")[-2:] == [("device.fault", "full"),
                                                       ("device.recovered", "ok")]
    states = {t.state.value for t in engine.tickets()}
    assert states <= {"waiting", "called", "completed"}
