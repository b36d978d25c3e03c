"""A damaged queue.db at start: checked, moved aside (never deleted), said in one line,
raised as a fault, and the day's numbers are not issued twice."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from nodeproc import NodeProcess
from test_queue_engine import SettableClock

from contract.schemas import Schemas
from edge.config import load_config
from edge.queue.engine import QueueEngine
from edge.queue.outbox import Outbox
from edge.queue.recovery import damage_of

PAGE = 4096
SCHEMAS = Schemas.load()


def filled_db(path: Path, clock: SettableClock, *, a: int = 300, b: int = 4) -> None:
    """A queue.db holding ``a`` A tickets and ``b`` B tickets, closed (WAL checkpointed)."""
    engine = QueueEngine(path, load_config(None), clock)
    for _ in range(a):
        engine.issue("A")
    for _ in range(b):
        engine.issue("B")
    engine.close()
    assert not path.with_name("queue.db-wal").exists()


def overwrite_tail(path: Path, pages: int = 3) -> None:
    """Garbage over the last pages: ticket and outbox rows, not the first tables."""
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.seek(size - pages * PAGE)
        f.write(bytes((i * 37 + 11) % 256 for i in range(pages * PAGE)))


def events(engine: QueueEngine) -> list[tuple[str, dict[str, object]]]:
    conn = sqlite3.connect(engine.db_path)
    rows = conn.execute("SELECT type, data FROM outbox ORDER BY seq").fetchall()
    conn.close()
    return [(t, json.loads(d)) for t, d in rows]


def moved_aside(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir()
                  if p.name.startswith("queue.db.damaged-") and not p.name.endswith(("-wal",
                                                                                       "-shm")))


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


def test_partly_overwritten_db_is_moved_aside_and_numbers_continue(
    tmp_path: Path, clock: SettableClock
) -> None:
    """Was: every press failed silently ('database disk image is malformed')."""
    db = tmp_path / "queue.db"
    filled_db(db, clock)
    overwrite_tail(db)
    damaged_bytes = db.read_bytes()
    with pytest.raises(sqlite3.DatabaseError, match="malformed"):
        conn = sqlite3.connect(db)
        conn.execute("SELECT COUNT(*), MAX(id) FROM ticket WHERE number LIKE 'A-%'").fetchall()
        conn.execute("SELECT * FROM outbox").fetchall()
    engine = QueueEngine(db, load_config(None), clock)
    assert engine.damage is not None and engine.damage.salvage is not None
    assert engine.damage.salvage.last_numbers == {"A": 300, "B": 4}
    assert [p.read_bytes() for p in moved_aside(tmp_path)] == [damaged_bytes]
    assert engine.issue("A").ticket.number == "A-301"
    assert engine.issue("B").ticket.number == "B-005"
    reset, fault = events(engine)[:2]
    assert reset == ("queue.reset", {"series": 1, "day": "2026-11-29",
                                     "reason": "damaged_database", "carried": True,
                                     "moved_aside": moved_aside(tmp_path)[0].name})
    assert fault[0] == "device.fault" and fault[1]["device"] == "storage"
    assert fault[1]["state"] == "damaged"
    assert damage_of(db) is None
    envelopes = [e.envelope("janti", "kiosk-1") for e in Outbox(db).unacked()]
    assert [SCHEMAS.errors("event", e) for e in envelopes] == [[]] * len(envelopes)
    engine.close()


@pytest.mark.parametrize("damage", ["garbage", "zero-length", "truncated"])
def test_unreadable_db_starts_a_new_series_and_says_so(
    tmp_path: Path, clock: SettableClock, damage: str
) -> None:
    """Was: a traceback (garbage, truncated) or a silent restart at A-001 (zero-length)."""
    db = tmp_path / "queue.db"
    filled_db(db, clock, a=40, b=0)
    if damage == "garbage":
        db.write_bytes(os.urandom(3 * PAGE))
    elif damage == "zero-length":
        db.write_bytes(b"")
    else:
        db.write_bytes(db.read_bytes()[: db.stat().st_size // 3])
    kept = db.read_bytes()
    engine = QueueEngine(db, load_config(None), clock)
    assert engine.damage is not None
    assert [p.read_bytes() for p in moved_aside(tmp_path)] == [kept]
    carried = engine.damage.salvage is not None
    reset = events(engine)[0]
    assert reset[0] == "queue.reset" and reset[1]["reason"] == "damaged_database"
    assert reset[1]["carried"] is carried
    number = engine.issue("A").ticket.number
    if carried:  # a truncated file may still hold its first tables
        assert number == "A-041"
    else:
        assert number == "A-001"
    assert "moved aside" in engine.damage.message() and "\n" not in engine.damage.message()
    engine.close()


def test_node_process_on_a_garbage_db_says_one_line_and_works(tmp_path: Path) -> None:
    (tmp_path / "queue.db").write_bytes(b"SQLite format 3\0" + os.urandom(2 * PAGE))
    node = NodeProcess(tmp_path)
    node.send("press A")
    node.expect("issued number=A-001")
    node.send("health")
    health = json.loads(node.expect("{"))
    assert health["storage"]["moved_aside"].startswith("queue.db.damaged-")
    assert node.quit() == 0
    assert node.proc.stderr is not None
    err = node.proc.stderr.read()
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("brexit node:")]
    assert len(lines) == 1 and "moved aside to queue.db.damaged-" in lines[0]


def test_data_files_are_private(tmp_path: Path) -> None:
    """Was: queue.db created 0644 in a world-readable directory."""
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    done = subprocess.run(
        [sys.executable, "-m", "edge.cli", "node", "--simulate", "--data", str(data)],
        input="press A\nquit\n", capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    modes = {p.relative_to(data).as_posix(): p.stat().st_mode & 0o777
             for p in [data, *data.rglob("*")]}
    assert modes["."] == 0o700
    assert modes["queue.db"] == 0o600
    assert {modes[d] for d in ("embossed", "printed", "speech")} == {0o700}
    files = {name: mode for name, mode in modes.items() if (data / name).is_file()}
    assert any(n.startswith("embossed/") for n in files)
    assert any(n.startswith("speech/") for n in files)
    assert set(files.values()) == {0o600}, files
