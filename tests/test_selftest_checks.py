"""The self-test's checks, one at a time: parsers from tables, devices through their
emulators on real ptys, the broker check against a real Mosquitto."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from brokers import BrokerPair, free_port

from contract.schemas import Schemas
from edge.cells.driver import CellsDriver
from edge.cells.emulate import EmulatedCells
from edge.config import MqttConfig
from edge.devices.embosser import Embosser
from edge.devices.embosser_emulator import EmbosserEmulator
from edge.devices.printer import TicketPrinter
from edge.devices.printer_emulator import PrinterEmulator
from edge.labels.buttons import ButtonLabel
from edge.selftest import system
from edge.selftest.broker import broker_check
from edge.selftest.devices import (
    FULL_CELL_ASCII,
    Press,
    button_result,
    cell_pattern,
    cells_job,
    embosser_job,
    printer_job,
)
from edge.selftest.result import CheckResult, Fault, Status, fail, passed, skipped
from edge.selftest.words import count_phrase, event_data, spoken_code, spoken_summary
from mqtt_config.pki import make_ca

DOCS = Path(__file__).resolve().parents[1] / "docs" / "selftest.md"


@pytest.mark.parametrize(("text", "expected"), [
    ("throttled=0x0", system.Throttled(False, False, False, False)),
    ("throttled=0x50005", system.Throttled(True, True, True, False)),
    ("throttled=0x50000", system.Throttled(False, True, False, False)),
    ("throttled=0x8", system.Throttled(False, False, False, True)),
    ("error=1", None),
    ("throttled=zz", None),
    ("", None),
])
def test_parse_throttled(text: str, expected: system.Throttled | None) -> None:
    assert system.parse_throttled(text) == expected


@pytest.mark.parametrize(("reading", "status", "code"), [
    (None, Status.SKIP, None),
    (system.Throttled(False, False, False, False), Status.PASS, None),
    (system.Throttled(True, True, False, False), Status.FAIL, "E70"),
    (system.Throttled(False, True, False, False), Status.FAIL, "E71"),
    (system.Throttled(False, False, True, True), Status.FAIL, "E72"),
])
def test_check_power(reading: system.Throttled | None, status: Status, code: str | None) -> None:
    result = system.check_power(reading)
    assert (result.status, result.code) == (status, code)


@pytest.mark.parametrize(("synced", "year", "status", "code"), [
    (True, 2026, Status.PASS, None),
    (None, 2027, Status.PASS, None),
    (False, 2026, Status.FAIL, "E60"),
    (True, 1970, Status.FAIL, "E61"),  # a Pi without network starts in the past
    (False, 2101, Status.FAIL, "E61"),
])
def test_check_clock(synced: bool | None, year: int, status: Status, code: str | None) -> None:
    result = system.check_clock(synced=synced, year=year)
    assert (result.status, result.code) == (status, code)


MIB = 1024 * 1024


@pytest.mark.parametrize(("free", "total", "status"), [
    (10_000 * MIB, 30_000 * MIB, Status.PASS),
    (150 * MIB, 30_000 * MIB, Status.FAIL),  # under 200 MB
    (1_000 * MIB, 30_000 * MIB, Status.FAIL),  # under 5 %
])
def test_check_disk(free: int, total: int, status: Status) -> None:
    result = system.check_disk(free, total)
    assert result.status is status and (result.code == "E02") == (status is Status.FAIL)


def test_read_disk_measures_a_real_directory(tmp_path: Path) -> None:
    assert system.read_disk(tmp_path).check == "disk"


OK = passed("speaker", "speaker berfungsi")
PAPER = fail(Fault.PRINTER_PAPER_OUT, "printer")
NOT_FITTED = skipped("cells", "sel Braille tidak dipasang")


@pytest.mark.parametrize(("results", "phrase"), [
    ([OK, OK, OK, PAPER], "Tiga lulus, satu gagal"),
    ([OK, OK], "Dua lulus, nol gagal"),
    ([OK, NOT_FITTED], "Satu lulus, nol gagal, satu dilewati"),
    ([PAPER, PAPER, NOT_FITTED], "Dua gagal, satu dilewati"),
    ([OK] * 12, "Dua belas lulus, nol gagal"),
])
def test_count_phrase(results: list[CheckResult], phrase: str) -> None:
    assert count_phrase(results) == phrase


@pytest.mark.parametrize(("code", "spoken"), [
    ("E21", "E dua satu"), ("E05", "E nol lima"), ("E70", "E tujuh nol"),
])
def test_spoken_code(code: str, spoken: str) -> None:
    assert spoken_code(code) == spoken


def test_summary_comes_first_then_each_failure_with_its_code() -> None:
    text = spoken_summary([OK, PAPER, fail(Fault.BROKER_LOGIN, "broker")])
    assert text == ("Uji mandiri selesai. Satu lulus, dua gagal. "
                    "Kode E dua satu: printer kertas habis. "
                    "Kode E lima tiga: server MQTT menolak login node.")


def test_codes_are_unique_and_documented() -> None:
    codes = [f.code for f in Fault]
    assert len(codes) == len(set(codes))
    documented = dict(re.findall(r"^\| `(E\d\d)` \| ([^|]+?) \|", DOCS.read_text(), re.M))
    assert documented == {f.code: f.message for f in Fault}


@pytest.mark.parametrize(("press", "status"), [
    (Press(True), Status.PASS),
    (Press(True, ("help",)), Status.PASS),
    (Press(False, ("help",)), Status.FAIL),
    (Press(False), Status.FAIL),
])
def test_button_result(press: Press, status: Status) -> None:
    result = button_result(ButtonLabel("kiosk", "service-1", "Poli Umum"), press)
    assert result.status is status
    if status is Status.FAIL:
        assert (result.code, result.message) == ("E11", "tombol Poli Umum tidak terdeteksi")


def test_event_data_is_a_valid_selftest_event() -> None:
    envelope = {"id": "c0ffee00-0000-4000-8000-000000000000", "site": "janti",
                "node": "kios-1", "epoch": "v1", "seq": 3, "ts": "2026-11-30T08:00:00+07:00",
                "type": "selftest", "data": event_data([OK, PAPER, NOT_FITTED], "boot")}
    schemas = Schemas.load()
    assert schemas.errors("event", envelope) == []
    assert envelope["data"]["codes"] == ["E21"]
    broken = {**envelope, "data": {**envelope["data"], "trigger": "whim"}}
    assert schemas.errors("event", broken)


# --- devices through their emulators ---------------------------------------------------------

@pytest.mark.parametrize(("paper_out", "offline", "status", "code"), [
    (False, False, Status.PASS, None),
    (True, False, Status.FAIL, "E21"),
    (False, True, Status.FAIL, "E20"),
])
def test_printer_job(paper_out: bool, offline: bool, status: Status, code: str | None) -> None:
    with PrinterEmulator() as emu:
        emu.paper_out, emu.offline = paper_out, offline
        with TicketPrinter(emu.path, timeout_s=0.5) as printer:
            result = printer_job(["Node kios-1"])(printer)
        assert (result.status, result.code) == (status, code)
        if status is Status.PASS:
            assert emu.wait_for_jobs(1, timeout=5)[0].text_lines == ("TIKET UJI", "Node kios-1")
        else:
            assert emu.jobs == []


@pytest.mark.parametrize(("paper_out", "offline", "status", "code"), [
    (False, False, Status.PASS, None),
    (True, False, Status.FAIL, "E31"),
    (False, True, Status.FAIL, "E30"),
])
def test_embosser_job(paper_out: bool, offline: bool, status: Status, code: str | None) -> None:
    with EmbosserEmulator(width_cells=20) as emu:
        emu.paper_out, emu.offline = paper_out, offline
        with Embosser(emu.path, width_cells=20, timeout_s=0.5) as embosser:
            result = embosser_job(20)(embosser)
        assert (result.status, result.code) == (status, code)
        if status is Status.PASS:
            job = emu.wait_for_jobs(1)[0]
            assert job.text[0] == "uji embosser"
            assert job.lines[1] == FULL_CELL_ASCII * 20  # every pin of every cell
        else:
            assert emu.jobs == []


def test_cells_job_raises_every_dot_then_the_pattern() -> None:
    with EmulatedCells(cells=8) as emu, CellsDriver(emu.path, cells=8) as driver:
        result = cells_job(8, ready_s=5)(driver)
        assert result.status is Status.PASS
        assert emu.dots() == cell_pattern(8) == (0x09, 0x12, 0x24) * 2 + (0x09, 0x12)


def test_cells_unplugged_are_offline() -> None:
    with EmulatedCells(cells=8) as emu:
        emu.unplug()
        with CellsDriver(emu.path, cells=8) as driver:
            result = cells_job(8, ready_s=0.5)(driver)
    assert (result.status, result.code) == (Status.FAIL, "E40")


# --- the broker, for real ---------------------------------------------------------------------

def _node_login(pair: BrokerPair) -> MqttConfig:
    login = pair.node()
    return MqttConfig(host="localhost", port=pair.site_tls.port, username=login.username,
                      password=login.password, tls_ca=pair.ca_file)


def test_broker_check_steps(broker_pair: BrokerPair, tmp_path: Path) -> None:
    good = _node_login(broker_pair)
    assert broker_check(good, timeout_s=5).status is Status.PASS
    # an id the login does not own is refused like a wrong password (client-id plugin)
    assert broker_check(good, client_id="brexit-ncc", timeout_s=5).code == "E53"
    cases = {
        "E50": replace(good, host="broker.invalid"),
        "E51": replace(good, port=free_port()),
        "E53": replace(good, password="wrong"),
    }
    stranger = make_ca(tmp_path / "other-ca", name="Not the fleet CA")
    cases["E52"] = replace(good, tls_ca=stranger.cert)
    for code, cfg in cases.items():
        result = broker_check(cfg, timeout_s=5)
        assert (result.status, result.code) == (Status.FAIL, code), result


def test_broker_check_without_broker_is_skipped() -> None:
    assert broker_check(None).status is Status.SKIP
