"""The monitor's views over a real SQLite store: the rows a page re-reads, and that a slow
re-read of a row never replaces a newer one read meanwhile."""

from __future__ import annotations

import threading
from pathlib import Path

from contract.fleet import parse_fleet
from ncc.config import parse_config
from ncc.messages import StatusMsg
from ncc.monitor import Monitor
from ncc.store import NodeRow, SqliteStore

TS = "2026-11-30T08:00:00+07:00"


class SlowFirstRead(SqliteStore):
    """The first re-read of changed rows waits until the test lets it go on."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.reading = threading.Event()
        self.go_on = threading.Event()
        self.slow = False

    def nodes(self, only=None):  # type: ignore[no-untyped-def]
        rows = super().nodes(only)
        if only is not None and self.slow:
            self.slow = False
            self.reading.set()
            assert self.go_on.wait(30)
        return rows


def monitor(tmp_path: Path) -> tuple[Monitor, SlowFirstRead]:
    fleet = parse_fleet({"defaults": {"services": [{"code": "A", "name": "Poli Umum"}],
                                      "counters": [{"number": 1, "services": ["A"]}]},
                         "site": [{"id": "janti", "name": "Janti", "kecamatan": "Sukun",
                                   "nodes": [{"id": "kios-1", "roles": ["kiosk"]},
                                             {"id": "loket-1", "roles": ["caller"],
                                              "counters": [1]}]}]})
    config = parse_config({"mqtt": {"host": "127.0.0.1", "port": 1, "allow_anonymous": True},
                           "store": {"path": str(tmp_path / "ncc.db")}}, tmp_path / "ncc.toml")
    store = SlowFirstRead(tmp_path / "ncc.db")
    return Monitor(config, fleet=fleet, store=store), store


def status(m: Monitor, node: str, session: int, version: str) -> None:
    result = m.store.apply([StatusMsg("janti", node, True, session, TS, version, ("kiosk",),
                                      1000.0 + session)])
    m._on_batch(result)  # what the ingest does after its commit


def test_a_slow_old_read_never_replaces_a_newer_row(tmp_path: Path) -> None:
    m, store = monitor(tmp_path)
    try:
        status(m, "kios-1", 1, "1.0.0")
        assert m.node("janti", "kios-1")["version"] == "1.0.0"  # type: ignore[index]
        status(m, "kios-1", 2, "1.1.0")
        store.slow = True
        slow = threading.Thread(target=m._rows)  # the evaluator's re-read of everything
        slow.start()
        assert store.reading.wait(30)  # it has read session 2 and is held
        status(m, "kios-1", 3, "1.2.0")
        assert m.node("janti", "kios-1")["version"] == "1.2.0"  # type: ignore[index]
        store.go_on.set()
        slow.join(30)
        row: NodeRow = m._rows()[("janti", "kios-1")]
        assert (row.session, row.version) == (3, "1.2.0")
        assert m.node("janti", "kios-1")["version"] == "1.2.0"  # type: ignore[index]
        assert [n["node"] for n in m.site("janti")["nodes"]] == [  # type: ignore[index]
            "kios-1", "loket-1"]
    finally:
        store.go_on.set()
        m.store.close()


def test_a_page_rereads_only_the_changed_rows_it_shows(tmp_path: Path) -> None:
    m, _ = monitor(tmp_path)
    try:
        status(m, "kios-1", 1, "1.0.0")
        status(m, "loket-1", 1, "1.0.0")
        m._rows()
        status(m, "kios-1", 2, "2.0.0")
        status(m, "loket-1", 2, "2.0.0")
        assert m.node("janti", "kios-1")["version"] == "2.0.0"  # type: ignore[index]
        assert m._dirty == {("janti", "loket-1")}  # left for the evaluator's pass
        assert m.nodes()["items"][1]["version"] == "2.0.0"
        assert m._dirty == set()
    finally:
        m.store.close()
