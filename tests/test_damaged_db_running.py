"""The queue database damaged while the node runs (overwritten, truncated or replaced under
it, or SQLite answering SQLITE_CORRUPT): the press is apologised for, health shows it, the
NCC gets ``device.fault`` (storage), and the node recovers as at start (moved aside, the
day's numbers carried over) with no number issued twice."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
from brokers import BrokerPair, wait_until
from nodeproc import NodeProcess
from test_damaged_db import PAGE, events, moved_aside, overwrite_tail
from test_mqtt_link import LiveNode
from test_node import Running, quick_taps
from test_queue_engine import SettableClock
from test_storage_faults import press

from contract.schemas import Schemas, schema_dir
from edge.config import load_config
from edge.mqtt.link import LinkOptions
from edge.queue.engine import QueueEngine
from edge.queue.models import StorageError
from edge.queue.outbox import Outbox
from edge.speech import phrases
from ncc.ingest import Ingest

SCHEMAS = Schemas.load()
STORAGE_SCHEMA = json.loads((schema_dir() / "health.json").read_text(encoding="utf-8"))[
    "properties"]["storage"]


def overwritten(db: Path) -> None:
    """Garbage written over the whole file, in place."""
    db.write_bytes(bytes((i * 37 + 11) % 256 for i in range(db.stat().st_size)))


def truncated(db: Path) -> None:
    os.truncate(db, db.stat().st_size // 3)


def emptied(db: Path) -> None:
    os.truncate(db, 0)


def replaced(db: Path) -> None:
    """Another file renamed over it (a restore gone wrong, a careless copy)."""
    other = db.with_name("other")
    other.write_bytes(os.urandom(3 * PAGE))
    other.rename(db)


def corrupt_pages(db: Path) -> None:
    """Checkpointed, then its last pages overwritten: SQLite reads them and says
    SQLITE_CORRUPT ('database disk image is malformed')."""
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    overwrite_tail(db)


DAMAGES: dict[str, Callable[[Path], None]] = {
    "overwritten": overwritten, "truncated": truncated, "emptied": emptied,
    "replaced": replaced, "corrupt_pages": corrupt_pages,
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_damage_under_a_running_engine_is_found_and_numbers_continue(
        tmp_path: Path, damage: str) -> None:
    """Was: presses went on into a file found damaged at the next start (their tickets
    lost), or failed with 'database disk image is malformed' for ever."""
    db = tmp_path / "queue.db"
    engine = QueueEngine(db, load_config(None), SettableClock())
    for _ in range(120):
        engine.issue("A")
    for _ in range(3):
        engine.issue("B")
    DAMAGES[damage](db)
    with pytest.raises(StorageError) as refused:  # this press gets the apology
        engine.issue("A")
    assert refused.value.damaged and not refused.value.full
    assert engine.damage is not None and "moved aside" in engine.damage.message()
    aside = moved_aside(tmp_path)
    assert [p.name for p in aside] == [engine.damage.moved_to.name]
    assert engine.issue("A").ticket.number == "A-121"
    assert engine.issue("B").ticket.number == "B-004"
    reset, fault = events(engine)[:2]
    assert reset[0] == "queue.reset" and reset[1]["reason"] == "damaged_database"
    assert reset[1]["carried"] is True and reset[1]["moved_aside"] == aside[0].name
    assert fault[0] == "device.fault"
    assert (fault[1]["device"], fault[1]["state"]) == ("storage", "damaged")
    envelopes = [e.envelope("janti", "kiosk-1") for e in Outbox(db).unacked()]
    assert [SCHEMAS.errors("event", e) for e in envelopes] == [[]] * len(envelopes)
    engine.close()


def test_node_press_on_a_damaged_database_is_apologised_shown_and_raised(
        tmp_path: Path) -> None:
    running = Running(quick_taps(load_config(None)), tmp_path)
    try:
        running.sim.press("A")
        running.wait_for("issued")
        overwritten(tmp_path / "queue.db")
        running.sim.press("A")
        running.wait_for("not-stored")
        running.wait_for("fault")
        assert ("fault", "storage", "damaged") in [
            (w, d.get("device"), d.get("state")) for w, d in running.reports]
        assert phrases.storage_fault_sentence() in running.spoken()
        storage = running.node.health()["storage"]
        assert storage["state"] == "damaged" and "moved aside" in storage["error"]
        running.sim.press("A")
        running.wait_for("issued", count=2)
        assert [t.number for t in running.node.ctx.engine.tickets()] == ["A-002"]
        assert running.node.health()["storage"]["state"] == "damaged"  # until a restart
    finally:
        running.node.stop()
        running.sim.close()


def test_node_process_survives_its_database_overwritten(tmp_path: Path) -> None:
    node = NodeProcess(tmp_path)
    for n in range(1, 4):
        assert press(node) == f"issued number=A-00{n} ahead={n - 1}"
    db = tmp_path / "queue.db"
    overwritten(db)
    assert press(node).startswith("not-stored ")
    node.expect("fault device=storage state=damaged")
    node.send("health")
    health = json.loads(node.expect("{"))
    storage = health["storage"]
    assert storage["state"] == "damaged"
    assert storage["moved_aside"].startswith("queue.db.damaged-")
    jsonschema.validate(storage, STORAGE_SCHEMA)  # as the NCC reads it in the MQTT health
    assert press(node) == "issued number=A-004 ahead=0"
    assert node.quit() == 0
    assert node.proc.stderr is not None
    assert "Traceback" not in node.proc.stderr.read()
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT type, data FROM outbox ORDER BY seq").fetchall()
        numbers = [r[0] for r in conn.execute("SELECT number FROM ticket ORDER BY id")]
    assert numbers == ["A-004"]
    kinds = [(t, json.loads(d).get("device"), json.loads(d).get("state")) for t, d in rows]
    assert kinds[:2] == [("queue.reset", None, None), ("device.fault", "storage", "damaged")]
    assert ("device.recovered", "storage", "ok") not in kinds  # the alarm waits for a person
    assert len(list((tmp_path / "speech").glob("*-kiosk.wav"))) == 5  # 3 + apology + 1


def test_the_ncc_gets_the_fault_and_the_fresh_database_events(
        broker_pair: BrokerPair, tmp_path: Path) -> None:
    """Was: the MQTT link went on reading the moved-aside file, so the NCC never heard of
    the damage nor of any ticket after it."""
    data = tmp_path / "node"
    with Ingest(tmp_path / "ncc.db", host=broker_pair.central.host,
                port=broker_pair.central.port, username="ncc",
                password=broker_pair.ncc.password, tls_ca=broker_pair.central.ca) as ncc, \
            LiveNode(data, broker_pair.site_lan, broker_pair.node(),
                     options=LinkOptions(backoff_min_s=0.2, backoff_max_s=0.5)) as live:
        live.press("A")
        wait_until(lambda: len(ncc.seqs("janti", "kiosk-1")) == 2, "the first ticket stored")
        old_epoch = ncc.events("janti", "kiosk-1")[0]["epoch"]
        overwritten(data / "queue.db")
        with pytest.raises(StorageError):
            live.issue(1)  # the press that meets the damage is refused (the kiosk apologises)
        live.press("A")
        assert [t.number for t in live.node.ctx.engine.tickets()] == ["A-002"]

        def fresh() -> list[tuple[str, object]]:
            events = ncc.events("janti", "kiosk-1")
            if not events or events[0]["epoch"] == old_epoch:
                return []
            return [(e["type"], e["data"].get("state") or e["data"].get("number"))
                    for e in events]

        wait_until(lambda: len(fresh()) == 3, "the fresh database's events at the NCC")
        assert fresh() == [("queue.reset", None), ("device.fault", "damaged"),
                           ("ticket.issued", "A-002")]
        wait_until(lambda: live.link.state().backlog == 0, "acks of the fresh epoch")
