"""A simulated day with BPJS Antrean FKTP: tickets issued, registered by staff, called,
skipped and cancelled while the (local, mock) service is down for part of the day.

Every call reaches the service exactly once, in order per ticket; refusals are raised as
``device.fault`` events without patient identifiers; nothing blocks the queue."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from bpjs_mock import CONS_ID, SECRET, USER_KEY, AntreanMock, Mode

from edge.bpjs.calls import Patient
from edge.bpjs.config import (
    BpjsConfig,
    BpjsConfigError,
    Credentials,
    Poli,
    parse_bpjs,
    write_credentials,
)
from edge.bpjs.store import BpjsStore, RegistrationError
from edge.bpjs.sync import BpjsSync, wait_idle
from edge.config import load_config
from edge.queue.engine import QueueEngine
from edge.queue.outbox import Outbox

JKT = ZoneInfo("Asia/Jakarta")
CARDS = {"A-001": "0001111111111", "A-002": "0002222222222", "B-001": "0003333333333",
         "C-001": "0004444444444"}
POLI = {"A": Poli("001", "UMUM", 101, "dr. Ani", "08:00-12:00"),
        "B": Poli("002", "GIGI", 102, "drg. Budi", "08:00-12:00"),
        "C": Poli("003", "KIA", 103, "bidan Citra", "08:00-12:00"),
        "D": Poli("004", "LANSIA", 104, "dr. Dewi", "08:00-12:00")}


def now() -> datetime:
    return datetime.now(JKT)


def bpjs_config(mock: AntreanMock) -> BpjsConfig:
    return BpjsConfig(mock.base_url, Credentials(CONS_ID, SECRET, USER_KEY), POLI,
                      timeout_s=0.5, retry_min_s=0.05, retry_max_s=0.2)


@pytest.fixture
def mock() -> Iterator[AntreanMock]:
    with AntreanMock() as m:
        yield m


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "queue.db"


def start_sync(mock: AntreanMock, db: Path, refused: list[tuple[str, str]]) -> BpjsSync:
    return BpjsSync(bpjs_config(mock), db,
                    on_refused=lambda n, m: refused.append((n, m))).start()


def until(predicate: object, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_a_day_with_an_outage_reaches_bpjs_exactly_once_in_order(
    mock: AntreanMock, db: Path
) -> None:
    store = BpjsStore(db)  # adds the tables and triggers before the first event
    engine = QueueEngine(db, load_config(None))
    refused: list[tuple[str, str]] = []
    sync = start_sync(mock, db, refused)
    for service in "AAABBC":
        engine.issue(service)
    for number, card in CARDS.items():
        store.register(number, Patient(card), now=now())
    until(lambda: len(mock.calls()) == 4)  # the four adds

    mock.down()  # BPJS unreachable for a while: the queue goes on
    assert engine.call_next(1).number == "A-001"
    assert engine.call_next(1).number == "A-002"  # A-001 completed
    assert engine.skip(1).number == "A-002"
    assert engine.call_next(2).number == "B-001"
    store.cancel("C-001", "pasien pulang", now=now())
    until(lambda: sync.health()["state"] == "retrying")
    assert sync.health()["pending"] == 5
    sync.close()  # the node restarts during the outage: nothing pending is lost

    mock.up()
    sync = start_sync(mock, db, refused)
    assert engine.call_next(1).number == "A-003"  # not a BPJS patient: never sent
    assert wait_idle(db, 10.0)
    sync.close()

    by_card: dict[str, list[str]] = {}
    for r in mock.calls():
        tag = r.call + (f":{r.body['status']}" if r.call == "panggil" else "")
        by_card.setdefault(r.body["nomorkartu"], []).append(tag)
    assert by_card == {
        CARDS["A-001"]: ["add", "panggil:1"],
        CARDS["A-002"]: ["add", "panggil:1", "panggil:2"],
        CARDS["B-001"]: ["add", "panggil:1"],
        CARDS["C-001"]: ["add", "batal"],
    }
    assert mock.state.rejected == [] and refused == []
    assert sync.health() == {"state": "ok", "pending": 0, "refused": 0, "last_error": None}


def test_registration_after_the_call_sends_add_then_the_calls_made(
    mock: AntreanMock, db: Path
) -> None:
    store = BpjsStore(db)
    engine = QueueEngine(db, load_config(None))
    engine.issue("A")
    engine.call_next(1)
    engine.skip(1)
    store.register("A-001", Patient(CARDS["A-001"]), now=now())
    sync = start_sync(mock, db, [])
    assert wait_idle(db, 10.0)
    sync.close()
    assert [(r.call, r.body.get("status")) for r in mock.calls()] == [
        ("add", None), ("panggil", 1), ("panggil", 2)]


@pytest.mark.parametrize("mode", [Mode.HTML, Mode.EMPTY, Mode.HANG])
def test_an_unreadable_or_missing_answer_is_retried_until_bpjs_answers(
    mock: AntreanMock, db: Path, mode: Mode
) -> None:
    store = BpjsStore(db)
    QueueEngine(db, load_config(None)).issue("A")
    mock.state.mode, mock.state.hang_s = mode, 0.8
    sync = start_sync(mock, db, [])
    store.register("A-001", Patient(CARDS["A-001"]), now=now())
    until(lambda: sync.health()["state"] == "retrying")
    assert mock.calls() == []
    mock.state.mode = Mode.NORMAL
    assert wait_idle(db, 10.0)
    sync.close()
    assert [r.call for r in mock.calls()] == ["add"]


def test_a_refusal_is_said_to_staff_and_raised_without_identifiers(
    mock: AntreanMock, db: Path
) -> None:
    store = BpjsStore(db)
    QueueEngine(db, load_config(None)).issue("B")
    mock.state.mode = Mode.REFUSE
    refused: list[tuple[str, str]] = []
    sync = start_sync(mock, db, refused)
    store.register("B-001", Patient(CARDS["B-001"]), now=now())
    until(lambda: refused)
    assert wait_idle(db, 5.0)
    sync.close()
    assert refused == [("B-001", "Nomor kartu *** tidak aktif")]
    faults = [e for e in Outbox(db).unacked() if e.type == "device.fault"]
    assert [(e.data["device"], e.data["state"]) for e in faults] == [("bpjs", "refused")]
    assert "B-001" in faults[0].data["detail"]
    assert CARDS["B-001"] not in json.dumps([e.data for e in faults])
    assert sync.health()["refused"] == 1


def test_staff_mistakes_are_refused_with_a_reason(db: Path) -> None:
    store = BpjsStore(db)
    QueueEngine(db, load_config(None)).issue("A")
    with pytest.raises(RegistrationError, match="no ticket A-009"):
        store.register("A-009", Patient(CARDS["A-001"]), now=now())
    store.register("A-001", Patient(CARDS["A-001"]), now=now())
    with pytest.raises(RegistrationError, match="already registered"):
        store.register("A-001", Patient(CARDS["A-002"]), now=now())
    with pytest.raises(RegistrationError, match="reason"):
        store.cancel("A-001", " ", now=now())


def test_credentials_must_be_private_and_complete(tmp_path: Path) -> None:
    creds = tmp_path / "bpjs.toml"
    write_credentials(creds, Credentials(CONS_ID, SECRET, USER_KEY))
    raw = {"base_url": "https://apijkn.example/antreanfktp", "credentials_file": "bpjs.toml"}
    assert parse_bpjs(raw, base=tmp_path).credentials.cons_id == CONS_ID
    assert SECRET not in repr(parse_bpjs(raw, base=tmp_path))
    creds.chmod(0o644)
    with pytest.raises(BpjsConfigError, match=r"readable by others.*chmod 600"):
        parse_bpjs(raw, base=tmp_path)
    creds.write_text('cons_id = "1"\n')
    creds.chmod(0o600)
    with pytest.raises(BpjsConfigError, match="secret is missing"):
        parse_bpjs(raw, base=tmp_path)
    with pytest.raises(BpjsConfigError, match="base_url"):
        parse_bpjs({**raw, "base_url": "ftp://x"}, base=tmp_path)
