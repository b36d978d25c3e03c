"""The NCC store from tables: dedupe by (site, node, epoch, seq), contiguous acks with gaps
and epochs, stale Wills, device states, alarms, retention and downsampling, migrations."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from ncc.messages import EventMsg, HealthMsg, QueueMsg, Rejected, StatusMsg, parse
from ncc.store import MIGRATIONS, SqliteStore

TS = "2026-11-30T08:00:00+07:00"


def event(seq: int, epoch: str = "e1", node: str = "k1", kind: str = "help.requested",
          data: dict[str, Any] | None = None, received: float = 1000.0) -> EventMsg:
    return EventMsg("janti", node, epoch, seq, str(uuid.uuid4()), TS, kind, data or {}, received)


def status(online: bool, session: int, received: float = 1000.0) -> StatusMsg:
    return StatusMsg("janti", "k1", online, session, TS, "0.1.0", ("kiosk",), received)


def health(ts: str = TS, retained: bool = False, received: float = 1000.0,
           **devices: Any) -> HealthMsg:
    payload = {"ts": ts, "version": "0.1.0", "session": 1, **devices,
               "system": {"cpu_temp_c": 50.0, "disk_free_bytes": 10_000_000,
                          "disk_total_bytes": 20_000_000, "disk_used_pct": 50.0,
                          "mem_available_bytes": None, "mem_total_bytes": None,
                          "uptime_s": 1.0, "clock_synced": True},
               "outbox": {"backlog": 0, "acked_seq": 0, "last_seq": 0, "warn_above": 10,
                          "warning": False}}
    return HealthMsg("janti", "k1", payload, retained, received)


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "ncc.db")


@pytest.mark.parametrize(
    ("seqs", "acked"),
    [([1, 2, 3], 3), ([1, 3], 1), ([2, 3], 0), ([1, 2, 2, 3], 3), ([3, 1, 2, 5], 3), ([], 0)],
)
def test_contiguous_ack_with_gaps_and_repeats(store: SqliteStore, seqs: list[int],
                                              acked: int) -> None:
    result = store.apply([event(s) for s in seqs])
    assert store.contiguous("janti", "k1", "e1") == acked
    assert store.seqs("janti", "k1", "e1") == sorted(set(seqs))
    assert result.stored == len(set(seqs)) and result.duplicates == len(seqs) - len(set(seqs))
    if seqs:
        assert [(a.epoch, a.seq) for a in result.acks] == [("e1", acked)]


def test_gap_filled_later_advances_the_ack(store: SqliteStore) -> None:
    store.apply([event(1), event(3), event(4)])
    assert store.contiguous("janti", "k1", "e1") == 1
    result = store.apply([event(2)])
    assert [a.seq for a in result.acks] == [4]


def test_epochs_are_separate_and_the_latest_is_the_nodes(store: SqliteStore) -> None:
    store.apply([event(1, "old"), event(2, "old"), event(1, "new")])
    assert store.contiguous("janti", "k1", "old") == 2
    assert store.contiguous("janti", "k1", "new") == 1
    assert store.nodes()[0].epoch == "new"


@pytest.mark.parametrize(
    ("sequence", "online", "session"),
    [
        ([(True, 1)], True, 1),
        ([(True, 2), (False, 1)], True, 2),  # a late Will of session 1: stale
        ([(True, 2), (False, 2)], False, 2),  # the Will of the current session
        ([(True, 2), (False, 2), (True, 2)], False, 2),  # the birth replayed after its Will
        ([(True, 2), (False, 2), (True, 3)], True, 3),
    ],
)
def test_status_stale_will_never_overrides(store: SqliteStore,
                                           sequence: list[tuple[bool, int]], online: bool,
                                           session: int) -> None:
    for i, (on, s) in enumerate(sequence):
        store.apply([status(on, s, received=1000.0 + i)])
    row = store.nodes()[0]
    assert (row.online, row.session) == (online, session)


def test_device_states_from_health_and_events(store: SqliteStore) -> None:
    store.apply([health(printer="ok", speaker="ok", buttons={"state": "ok"})])
    store.apply([event(1, kind="device.fault", data={"device": "printer",
                                                       "state": "paper_out"})])
    devices = store.nodes()[0].devices
    assert devices["printer"]["state"] == "paper_out" and devices["speaker"]["state"] == "ok"
    store.apply([event(2, kind="device.recovered", data={"device": "printer"})])
    assert store.nodes()[0].devices["printer"]["state"] == "ok"
    store.apply([health(ts="2026-11-30T08:01:00+07:00", received=1060.0,
                        printer="ok", buttons={"state": "stuck", "stuck": ["A"]})])
    assert store.nodes()[0].devices["buttons"]["state"] == "stuck"


def test_retained_health_again_is_not_history_twice(store: SqliteStore) -> None:
    store.apply([health(received=1000.0)])
    store.apply([health(retained=True, received=2000.0)])
    assert len(store.health_history("janti", "k1", 0)) == 1


def test_clock_skew_from_live_health_only(store: SqliteStore) -> None:
    node_time = 1_796_000_000.0
    store.apply([health(ts="2026-11-30T08:00:00+07:00", retained=True, received=node_time)])
    assert store.nodes()[0].clock_skew_s is None
    from ncc.messages import parse_ts

    sent = parse_ts("2026-11-30T08:00:00+07:00")
    assert sent is not None
    store.apply([health(ts="2026-11-30T08:00:00+07:00", received=sent + 120.0)])
    assert store.nodes()[0].clock_skew_s == pytest.approx(-120.0)


def test_one_open_alarm_per_key_ack_and_history(store: SqliteStore) -> None:
    a = store.open_alarm("janti", "k1", "printer", "paper_out", "critical", 10.0)
    with pytest.raises(sqlite3.IntegrityError):
        store.open_alarm("janti", "k1", "printer", "paper_out", "critical", 11.0)
    acked = store.ack_alarm(a.id, "sari", 12.0)
    assert (acked.state, acked.acked_by) == ("acked", "sari")
    cleared = store.clear_alarm(a.id, 13.0)
    again = store.open_alarm("janti", "k1", "printer", "paper_out", "critical", 14.0)
    assert cleared.state == "cleared" and again.id != a.id
    assert store.alarm_history(a.id) == [("opened", None), ("acked", "sari"), ("cleared", None)]
    with pytest.raises(KeyError):
        store.ack_alarm(12345, "sari", 15.0)


def test_retention_and_downsampling(store: SqliteStore) -> None:
    day = 86400.0
    now = 100 * day
    old = [health(ts=f"2026-11-30T08:{m:02d}:00+07:00", received=now - 40 * day + m * 60)
           for m in range(3)]
    week = [health(ts=f"2026-11-30T09:{m:02d}:00+07:00", received=now - 7 * day + m * 60)
            for m in range(30)]  # two 15-minute buckets
    fresh = [health(ts=f"2026-11-30T10:{m:02d}:00+07:00", received=now - 600 + m)
             for m in range(5)]
    for h in old + week + fresh:
        store.apply([h])
    store.apply([event(1, received=now - 400 * day), event(2, received=now - day)])
    deleted = store.prune(now, health_days=30, events_days=365, full_health_hours=24)
    history = store.health_history("janti", "k1", 0)
    assert len(history) == 2 + 5  # one per 15 minutes beyond a day, everything within
    assert store.seqs("janti", "k1", "e1") == [2]
    assert deleted == 3 + 28 + 1


def test_one_site_reads_see_only_the_sites_asked_for(store: SqliteStore) -> None:
    store.apply([QueueMsg(site, {"waiting": {"A": n}}, 1000.0)
                 for n, site in enumerate(("janti", "arjuno", "dinoyo"), start=1)])
    store.apply([event(1), event(2, kind="ticket.completed", data={"number": "A-001"}),
                 EventMsg("arjuno", "k1", "e1", 1, str(uuid.uuid4()), TS, "ticket.completed",
                          {"number": "A-001"}, 1000.0)])
    assert store.queues(["janti", "dinoyo", "tidak-ada"]) == {
        "janti": {"waiting": {"A": 1}}, "dinoyo": {"waiting": {"A": 3}}}
    assert set(store.queues()) == {"janti", "arjuno", "dinoyo"}
    day = TS[:10]
    assert store.day_counts(day, ["arjuno"]) == {"arjuno": {"ticket.completed": 1}}
    assert store.day_counts(day) == {"arjuno": {"ticket.completed": 1},
                                     "janti": {"help.requested": 1, "ticket.completed": 1}}
    many = [f"pkm-{i:04d}" for i in range(1000)] + ["janti"]  # more than one chunk
    assert store.day_counts(day, many) == {"janti": {"help.requested": 1,
                                                     "ticket.completed": 1}}
    a = store.open_alarm("janti", "k1", "printer", "paper_out", "warning", 10.0)
    store.open_alarm("janti", None, "site_unreachable", "", "critical", 10.0)
    gone = store.open_alarm("arjuno", "k1", "offline", "", "critical", 10.0)
    store.clear_alarm(gone.id, 11.0)
    store.ack_alarm(a.id, "sari", 12.0)  # acknowledged is still open
    assert store.open_alarm_counts(["janti", "arjuno"]) == {("janti", "k1"): 1,
                                                           ("janti", None): 1}
    assert store.open_alarm_counts(["arjuno"]) == {}
    assert sorted(store.open_alarm_groups()) == [("janti", "printer", "warning", 1),
                                                 ("janti", "site_unreachable", "critical", 1)]


def test_a_view_read_does_not_wait_for_the_writers_transaction(store: SqliteStore) -> None:
    store.open_alarm("janti", "k1", "printer", "paper_out", "warning", 10.0)
    read_done = threading.Event()
    seen: list[list[str]] = []

    def writer() -> None:
        with store._tx() as db:  # an ingest batch in progress: the store's lock held
            db.execute("INSERT INTO alarm (site, node, kind, detail, severity, state, since)"
                       " VALUES ('janti', 'k2', 'printer', '', 'warning', 'open', 11.0)")
            read_done.wait(30)
            seen.append(["committed after the read" if read_done.is_set() else "timed out"])

    t = threading.Thread(target=writer)
    t.start()
    try:
        wait_until_locked(store)
        seen.append([a.node or "" for a in store.alarms(open_only=True)])
        read_done.set()
    finally:
        t.join()
    assert seen == [["k1"], ["committed after the read"]]  # the last commit, not the open one
    assert sorted(a.node or "" for a in store.alarms(open_only=True)) == ["k1", "k2"]


def wait_until_locked(store: SqliteStore) -> None:
    for _ in range(3000):
        if not store._lock.acquire(blocking=False):
            return
        store._lock.release()
        threading.Event().wait(0.01)
    raise AssertionError("the writer never took the lock")


def test_a_version_1_database_gets_the_new_index(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "ncc.db") as db:
        db.executescript(MIGRATIONS[0] + "\nPRAGMA user_version = 1;")
        db.execute("INSERT INTO alarm (site, node, kind, detail, severity, state, since)"
                   " VALUES ('janti', 'k1', 'printer', '', 'warning', 'open', 1.0)")
    store = SqliteStore(tmp_path / "ncc.db")
    assert store.schema_version() == len(MIGRATIONS) >= 2
    assert store.open_alarm_counts(["janti"]) == {("janti", "k1"): 1}
    plan = store._db.execute("EXPLAIN QUERY PLAN SELECT count(*) FROM alarm"
                             " WHERE state != 'cleared' AND site = 'janti'").fetchall()
    assert "alarm_open_site" in str(plan)


def test_schema_version_and_newer_database_refused(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "ncc.db")
    assert store.schema_version() == len(MIGRATIONS)
    store.close()
    with sqlite3.connect(tmp_path / "ncc.db") as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(RuntimeError, match="newer than this NCC"):
        SqliteStore(tmp_path / "ncc.db")


EPOCH = "9f2c41d07b3e8a65"
UUID = "5f0c3e0e-0000-4000-8000-000000000000"


@pytest.mark.parametrize(
    ("topic", "payload", "kind"),
    [
        ("brexit/v1/janti/k1/event",
         f'{{"id":"{UUID}","site":"janti","node":"k1","epoch":"{EPOCH}","seq":1,'
         f'"ts":"{TS}","type":"help.requested","data":{{}}}}', EventMsg),
        ("brexit/v1/janti/k1/event",  # contract v1: no epoch
         f'{{"id":"{UUID}","site":"janti","node":"k1","seq":1,'
         f'"ts":"{TS}","type":"help.requested","data":{{}}}}', EventMsg),
        ("brexit/v1/janti/k2/event",  # the envelope names another node than the topic
         f'{{"id":"{UUID}","site":"janti","node":"k1","epoch":"{EPOCH}","seq":1,'
         f'"ts":"{TS}","type":"help.requested","data":{{}}}}', Rejected),
        ("brexit/v1/janti/k1/event", '{"seq": 1}', Rejected),
        ("brexit/v1/janti/k1/event", "not json", Rejected),
        ("brexit/v1/janti/k1/status", '{"online": true}', Rejected),
        ("brexit/v1/janti/k1/cmd/selftest", "{}", type(None)),
        ("brexit/v1/ncc/ack/janti/k1", '{"seq": 1}', type(None)),
        ("brexit/v1/janti/queue", '{"waiting": {}}', Rejected),
    ],
)
def test_parse_table(topic: str, payload: str, kind: type) -> None:
    assert isinstance(parse(topic, payload.encode(), retained=False, now=0.0), kind)


def test_v1_event_stored_under_empty_epoch() -> None:
    raw = (f'{{"id":"{UUID}","site":"janti","node":"k1","seq":1,"ts":"{TS}",'
           f'"type":"help.requested","data":{{}}}}').encode()
    msg = parse("brexit/v1/janti/k1/event", raw, retained=False, now=0.0)
    assert isinstance(msg, EventMsg) and msg.epoch == ""


def test_replayed_status_and_health_only_move_last_seen(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "ncc.db")
    store.apply([status(True, 1, received=1000.0), health(received=1001.0)])
    store.apply([status(False, 1, received=1050.0)])  # the Will
    # we reconnected: the broker sends the retained Will and health again
    store.apply([status(False, 1, received=2000.0), health(retained=True, received=2000.5)])
    row = store.nodes()[0]
    assert (row.status_at, row.health_at, row.last_seen) == (1050.0, 1001.0, 2000.5)
    db = sqlite3.connect(tmp_path / "ncc.db")
    assert db.execute("SELECT count(*) FROM status_history").fetchone()[0] == 2
    assert db.execute("SELECT status_at, last_seen FROM node").fetchone() == (1050.0, 2000.5)
    store.close()
    reopened = SqliteStore(tmp_path / "ncc.db").nodes()[0]
    assert reopened == row  # what the store keeps in memory is what it wrote


def test_a_failed_batch_leaves_the_nodes_as_they_were(store: SqliteStore) -> None:
    store.apply([status(True, 1, received=1000.0)])
    broken = HealthMsg("janti", "k1", {"ts": TS, "version": "0.1.0"}, False, 1001.0)
    with pytest.raises(KeyError):
        store.apply([status(True, 2, received=1001.0), broken])
    row = store.nodes()[0]
    assert (row.session, row.status_at, row.health) == (1, 1000.0, None)
