"""The ticket printer driver against the emulated printer, through a real pty."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from edge.devices.escpos_decode import StatusQuery, TextLine
from edge.devices.printer import PaperStatus, TicketPrinter, first_status
from edge.devices.printer_emulator import PrintedJob, PrinterEmulator, status_answer
from edge.devices.printer_layout import QrTicket
from edge.devices.state import DeviceError, DeviceState
from edge.ticket import TicketView

TICKET = TicketView("A-007", "A", "Poli Umum", datetime(2026, 11, 29, 8, 5), 3,
                    "Puskesmas Janti")
SHORT = 0.3  # status answer timeout where a test waits for "no answer"


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[PrinterEmulator]:
    with PrinterEmulator(tmp_path / "jobs") as emulator:
        yield emulator


@pytest.fixture
def printer(emu: PrinterEmulator) -> Iterator[TicketPrinter]:
    with TicketPrinter(emu.path, timeout_s=SHORT) as driver:
        yield driver


def assert_is_ticket(job: PrintedJob, ticket: TicketView) -> None:
    assert job.big_text == ticket.number
    assert ticket.site_name.upper() in job.text_lines
    assert ticket.service_name in job.text_lines
    assert "Minggu, 29 November 2026 08.05" in job.text_lines
    assert f"{ticket.ahead} orang sebelum Anda" in job.text_lines
    assert [QrTicket.parse(p) for p in job.qr_payloads] == [QrTicket.of(ticket)]
    assert job.unknown == ()


# --- a ticket comes out --------------------------------------------------------------------


def test_printed_ticket_decodes_back_to_the_ticket(
    emu: PrinterEmulator, printer: TicketPrinter
) -> None:
    before = time.monotonic()
    printer.print_ticket(TICKET)
    [job] = emu.wait_for_jobs(1, timeout=5)
    assert_is_ticket(job, TICKET)
    assert before <= job.first_byte_at <= time.monotonic()
    assert emu.status_queries == [4]  # paper sensor asked first
    assert not any(isinstance(e, StatusQuery) for e in job.elements)
    assert printer.state() is DeviceState.OK and not printer.paper_near_end


def test_each_job_is_saved_as_readable_text(emu: PrinterEmulator, printer: TicketPrinter) -> None:
    second = TicketView("B-012", "B", "Poli Gigi", datetime(2026, 11, 29, 9, 30), 0,
                        "Puskesmas Janti", assisted=True)
    printer.print_ticket(TICKET)
    printer.print_ticket(second)
    emu.wait_for_jobs(2, timeout=5)
    assert emu.out_dir is not None
    files = sorted(p.name for p in emu.out_dir.iterdir())
    assert files == ["0001-A-007.txt", "0002-B-012.txt"]
    text = (emu.out_dir / "0002-B-012.txt").read_text(encoding="utf-8")
    assert "[4x4] B-012" in text
    assert "[QR: BREXIT|Puskesmas Janti|B-012|2026-11-29]" in text
    assert "Tidak ada antrean sebelum Anda" in text
    assert "Perlu pendampingan petugas" in text
    assert text.rstrip().endswith("[CUT]")


def test_plain_document(emu: PrinterEmulator, printer: TicketPrinter) -> None:
    printer.print_text_lines(["Paracetamol 500 mg", "3 x sehari sesudah makan"],
                             title="Etiket Obat")
    [job] = emu.wait_for_jobs(1, timeout=5)
    assert job.text_lines == ("Etiket Obat", "Paracetamol 500 mg", "3 x sehari sesudah makan")
    assert job.lines[0].bold and job.qr_payloads == ()


def test_without_status_query_nothing_is_asked(emu: PrinterEmulator) -> None:
    with TicketPrinter(emu.path, status_query=False) as printer:
        printer.print_ticket(TICKET)
        [job] = emu.wait_for_jobs(1, timeout=5)
    assert_is_ticket(job, TICKET)
    assert emu.status_queries == []


# --- paper -----------------------------------------------------------------------------------


def test_paper_out_prints_nothing_and_recovers(
    emu: PrinterEmulator, printer: TicketPrinter
) -> None:
    emu.paper_out = True
    with pytest.raises(DeviceError) as err:
        printer.print_ticket(TICKET)
    assert err.value.state is DeviceState.PAPER_OUT
    assert printer.state() is DeviceState.PAPER_OUT
    emu.port.wait_idle()
    assert emu.jobs == [] and emu.status_queries == [4]

    emu.paper_out = False  # a new roll
    printer.print_ticket(TICKET)
    [job] = emu.wait_for_jobs(1, timeout=5)
    assert_is_ticket(job, TICKET)
    assert not job.paper_was_out
    assert printer.state() is DeviceState.OK


def test_near_end_still_prints_and_is_reported(
    emu: PrinterEmulator, printer: TicketPrinter
) -> None:
    emu.near_end = True
    printer.print_ticket(TICKET)
    emu.wait_for_jobs(1, timeout=5)
    assert printer.state() is DeviceState.OK and printer.paper_near_end
    emu.near_end = False
    printer.print_ticket(TICKET)
    emu.wait_for_jobs(2, timeout=5)
    assert not printer.paper_near_end


def test_check_reports_paper_without_printing(
    emu: PrinterEmulator, printer: TicketPrinter
) -> None:
    emu.paper_out = True
    assert printer.check() is DeviceState.PAPER_OUT
    emu.paper_out = False
    assert printer.check() is DeviceState.OK
    emu.port.wait_idle()
    assert emu.jobs == [] and emu.status_queries == [4, 4]


# --- offline and unplugged -------------------------------------------------------------------


def test_offline_printer_prints_nothing_and_recovers(
    emu: PrinterEmulator, printer: TicketPrinter
) -> None:
    emu.offline = True
    with pytest.raises(DeviceError) as err:
        printer.print_ticket(TICKET)
    assert err.value.state is DeviceState.OFFLINE
    assert printer.state() is DeviceState.OFFLINE

    emu.offline = False  # it wakes up and reads the unanswered query, nothing else
    emu.port.wait_idle()
    assert emu.jobs == [] and emu.status_queries == [4]

    printer.print_ticket(TICKET)
    [job] = emu.wait_for_jobs(1, timeout=5)
    assert_is_ticket(job, TICKET)
    assert printer.state() is DeviceState.OK


def test_write_timeout_means_offline(emu: PrinterEmulator) -> None:
    emu.offline = True  # nothing is read, so the line fills and the write blocks
    with TicketPrinter(emu.path, timeout_s=SHORT, status_query=False) as printer:
        with pytest.raises(DeviceError) as err:
            printer.print_text_lines(["x" * 30] * 10_000)
        assert err.value.state is DeviceState.OFFLINE
        assert printer.state() is DeviceState.OFFLINE


def test_unplug_and_replug(tmp_path: Path) -> None:
    link = tmp_path / "ttyPRINTER"  # like a udev symlink that comes and goes
    with TicketPrinter(str(link), timeout_s=SHORT) as printer:
        assert printer.state() is DeviceState.OFFLINE  # not plugged in at start
        with pytest.raises(DeviceError) as err:
            printer.print_ticket(TICKET)
        assert err.value.state is DeviceState.OFFLINE

        with PrinterEmulator() as first:
            link.symlink_to(first.path)
            printer.print_ticket(TICKET)
            assert_is_ticket(first.wait_for_jobs(1, timeout=5)[0], TICKET)
        link.unlink()  # unplugged

        with pytest.raises(DeviceError):
            printer.print_ticket(TICKET)
        assert printer.state() is DeviceState.OFFLINE

        with PrinterEmulator() as second:  # plugged back in: a new device node
            link.symlink_to(second.path)
            printer.print_ticket(TICKET)
            assert_is_ticket(second.wait_for_jobs(1, timeout=5)[0], TICKET)
            assert printer.state() is DeviceState.OK


def test_closed_printer_refuses_work(emu: PrinterEmulator) -> None:
    printer = TicketPrinter(emu.path, timeout_s=SHORT)
    printer.close()
    with pytest.raises(DeviceError) as err:
        printer.print_ticket(TICKET)
    assert err.value.state is DeviceState.DISABLED


# --- noise on the line ---------------------------------------------------------------------


def test_garbage_from_the_printer_does_not_break_the_driver(
    emu: PrinterEmulator, printer: TicketPrinter
) -> None:
    emu.port.send(b"\xff\x00NOISE~R\x13\x11")  # unsolicited, including status-like bytes
    emu.status_prefix = b"\x00\xff\x80\x01\x13"  # and noise before every answer
    printer.print_ticket(TICKET)
    assert_is_ticket(emu.wait_for_jobs(1, timeout=5)[0], TICKET)
    assert printer.state() is DeviceState.OK

    emu.port.send(b"\x7e" * 8)  # stale "paper end" bytes must not count for the next job
    printer.print_ticket(TICKET)
    emu.wait_for_jobs(2, timeout=5)
    assert printer.state() is DeviceState.OK


def test_noise_only_is_no_answer(emu: PrinterEmulator, printer: TicketPrinter) -> None:
    emu.status_prefix = b"\x00\xff"
    emu.paper_out = True  # the answer says paper end; the noise before it is skipped
    with pytest.raises(DeviceError) as err:
        printer.print_ticket(TICKET)
    assert err.value.state is DeviceState.PAPER_OUT


# --- the status bytes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("byte", "status"),
    [
        (0x12, PaperStatus(near_end=False, end=False)),
        (0x1E, PaperStatus(near_end=True, end=False)),
        (0x72, PaperStatus(near_end=False, end=True)),
        (0x7E, PaperStatus(near_end=True, end=True)),
        (0x16, PaperStatus(near_end=True, end=False)),  # one near-end bit is enough
        (0x00, None),
        (0xFF, None),
        (0x13, None),  # XOFF
        (0x92, None),
        (0x02, None),
    ],
)
def test_paper_status_byte(byte: int, status: PaperStatus | None) -> None:
    assert PaperStatus.parse(byte) == status


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"", None),
        (b"\x00\xff", None),
        (b"\x00\x12", PaperStatus(False, False)),
        (b"\x13\x72\x12", PaperStatus(False, True)),
    ],
)
def test_first_status_skips_noise(data: bytes, status: PaperStatus | None) -> None:
    assert first_status(data) == status


@pytest.mark.parametrize(
    ("n", "paper_out", "near_end", "answer"),
    [
        (1, False, False, 0x12),
        (1, True, False, 0x1A),  # offline while paper is out
        (2, False, False, 0x12),
        (2, True, False, 0x32),  # stopped by paper end
        (3, True, True, 0x12),
        (4, False, False, 0x12),
        (4, False, True, 0x1E),
        (4, True, False, 0x7E),  # an empty roll is also past near end
    ],
)
def test_emulator_status_answers(n: int, paper_out: bool, near_end: bool, answer: int) -> None:
    assert status_answer(n, paper_out=paper_out, near_end=near_end) == answer


def test_lines_of_a_job_are_text_lines(emu: PrinterEmulator, printer: TicketPrinter) -> None:
    printer.print_text_lines(["satu", "dua"])
    [job] = emu.wait_for_jobs(1, timeout=5)
    assert all(isinstance(line, TextLine) for line in job.lines)
    assert job.text_lines == ("satu", "dua") and job.big_text is None
    assert job.file_name() == "0001-job.txt"
