"""Command ids the node has run, with their first reply, kept in the queue database.

QoS 1 delivers a command at least once: a redelivery (or a sender's retry) with the same
``id`` must not run it again (a second ``call_next`` skips a patient). The log is a table
of ``queue.db`` made by this module, so it survives restarts. A command is written as
started before it runs and its reply after, so a crash in between leaves it started: it is
then never run again (at most once), and a repeat is told so.

>>> import tempfile, pathlib
>>> log = CommandLog(pathlib.Path(tempfile.mkdtemp()) / "q.db")
>>> log.begin("c0ffee00-0000-4000-8000-000000000000", "call_next") is None
True
>>> log.finish("c0ffee00-0000-4000-8000-000000000000", {"id": "c0ffee00-…", "ok": True})
>>> log.begin("c0ffee00-0000-4000-8000-000000000000", "call_next")
{'id': 'c0ffee00-…', 'ok': True}
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from edge.queue.db import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS mqtt_command (
    id       TEXT PRIMARY KEY,      -- the command's uuid
    name     TEXT NOT NULL,
    received REAL NOT NULL,         -- unix time
    reply    TEXT                   -- JSON of the first reply; NULL: started, never answered
)
"""
KEEP = 10_000  # ids remembered; a redelivery comes within seconds or minutes


def interrupted(command_id: str) -> dict[str, Any]:
    """The reply to a repeat of a command that was started but never answered."""
    return {"id": command_id, "ok": False,
            "error": f"command {command_id} was interrupted by a restart; not run again"}


class CommandLog:
    """Remembered command ids (see the module docstring); use from one thread."""

    def __init__(self, db_path: Path, *, keep: int = KEEP) -> None:
        self._conn = connect(db_path)
        self._conn.execute(SCHEMA)
        self._keep = keep

    def begin(self, command_id: str, name: str) -> dict[str, Any] | None:
        """None for a new id (now recorded as started); else the reply to repeat."""
        row = self._conn.execute(
            "SELECT reply FROM mqtt_command WHERE id = ?", (command_id,)
        ).fetchone()
        if row is not None:
            first: dict[str, Any] = json.loads(row[0]) if row[0] else interrupted(command_id)
            return first
        self._conn.execute(
            "INSERT INTO mqtt_command (id, name, received) VALUES (?, ?, ?)",
            (command_id, name, time.time()),
        )
        self._forget_old()
        return None

    def finish(self, command_id: str, reply: dict[str, Any]) -> None:
        self._conn.execute(
            "UPDATE mqtt_command SET reply = ? WHERE id = ?",
            (json.dumps(reply, ensure_ascii=False), command_id),
        )

    def _forget_old(self) -> None:
        self._conn.execute(
            "DELETE FROM mqtt_command WHERE rowid <= (SELECT MAX(rowid) FROM mqtt_command) - ?",
            (self._keep,),
        )

    def __len__(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM mqtt_command").fetchone()[0])

    def close(self) -> None:
        self._conn.close()

