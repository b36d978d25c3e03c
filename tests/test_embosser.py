"""The embosser driver against its emulator on a real pty, and against pyserial's loop://."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import serial

from edge.braille.codec import ascii_to_text, text_to_ascii
from edge.devices.embosser import Embosser, job_pages, parse_status
from edge.devices.embosser_emulator import EmbosserEmulator, parse_job
from edge.devices.state import DeviceError, DeviceState
from edge.ticket import TicketView

FAST = 0.3  # seconds a driver waits for a hung device


def ticket(number: str, service: str, ahead: int = 3) -> TicketView:
    at = datetime(2026, 11, 29, 8, 5)
    return TicketView(number, number.split("-")[0], service, at, ahead, "Puskesmas Janti")


@pytest.fixture
def device(tmp_path: Path) -> Iterator[EmbosserEmulator]:
    with EmbosserEmulator(tmp_path) as emulator:
        yield emulator


@pytest.fixture
def embosser(device: EmbosserEmulator) -> Iterator[Embosser]:
    with Embosser(device.path, timeout_s=FAST) as driver:
        yield driver


TICKETS = [
    ticket("A-007", "Poli Umum"),
    ticket("B-123", "KIA", 15),
    ticket("C-012", "Kesehatan Ibu dan Anak", 0),
    ticket("D-001", "Poli Gigi dan Mulut", 1),
    ticket("E-1000", "Laboratorium", 42),
]


@pytest.mark.parametrize("width", [16, 20, 28, 40])
def test_every_ticket_reads_back_as_meant(device: EmbosserEmulator, width: int) -> None:
    device.width_cells = width
    with Embosser(device.path, width_cells=width, timeout_s=FAST) as embosser:
        for t in TICKETS:
            embosser.emboss_ticket(t)
    jobs = device.wait_for_jobs(len(TICKETS))
    for t, job in zip(TICKETS, jobs, strict=True):
        assert job.errors == ()
        assert job.number == t.number
        assert job.text[0].split()[-1] == t.number
        assert " ".join(job.text[1:]).startswith(t.service_name)
        assert len(job.text) <= 3


def test_ticket_page_lines_and_brf_file(device: EmbosserEmulator, embosser: Embosser) -> None:
    embosser.emboss_ticket(ticket("A-007", "Poli Umum"))
    (job,) = device.wait_for_jobs(1)
    assert job.text == ("Nomor antrean A-007", "Poli Umum", "3 sebelum Anda, 08.05")
    assert job.lines[0] == ",NOMOR ANTREAN ,A-#JJG"
    assert job.raw.endswith(b"\r\n\x0c")
    assert device.out_dir is not None
    assert (device.out_dir / "0001-A-007.brf").read_bytes() == job.raw


def test_first_byte_time_is_taken_when_the_job_arrives(
    device: EmbosserEmulator, embosser: Embosser
) -> None:
    before = time.monotonic()
    embosser.emboss_ticket(ticket("A-001", "Poli Umum"))
    (job,) = device.wait_for_jobs(1)
    assert before <= job.first_byte_at <= time.monotonic()


def test_long_documents_wrap_and_run_over_pages(device: EmbosserEmulator) -> None:
    lines = [f"Baris {n}" for n in range(1, 31)] + ["Paracetamol 500 mg diminum 3 kali sehari"]
    with Embosser(device.path, width_cells=20, lines_per_page=25, timeout_s=FAST) as embosser:
        embosser.emboss_lines(lines)
    first, second = device.wait_for_jobs(2)
    assert len(first.text) == 25
    assert [*first.text, *second.text] == [
        *lines[:30],
        "Paracetamol 500 mg",
        "diminum 3 kali",
        "sehari",
    ]
    assert first.errors == second.errors == ()


def test_blank_lines_are_kept(device: EmbosserEmulator, embosser: Embosser) -> None:
    embosser.emboss_lines(["Etiket obat", "", "Amoksisilin"])
    assert device.wait_for_jobs(1)[0].text == ("Etiket obat", "", "Amoksisilin")


def test_text_without_braille_is_refused_before_sending(
    device: EmbosserEmulator, embosser: Embosser
) -> None:
    with pytest.raises(ValueError, match="position"):
        embosser.emboss_lines(["Harga Rp 5.000", "dosis ½ tablet"])
    assert device.enquiries == 0
    embosser.emboss_lines(["ok"])
    assert device.wait_for_jobs(1)[0].text == ("ok",)


def test_paper_out_is_reported_and_nothing_is_sent(
    device: EmbosserEmulator, embosser: Embosser
) -> None:
    device.paper_out = True
    assert embosser.state() is DeviceState.PAPER_OUT
    with pytest.raises(DeviceError) as err:
        embosser.emboss_ticket(ticket("A-002", "Poli Umum"))
    assert err.value.state is DeviceState.PAPER_OUT
    device.paper_out = False
    assert embosser.state() is DeviceState.OK
    embosser.emboss_ticket(ticket("A-003", "Poli Umum"))
    jobs = device.wait_for_jobs(1)
    assert [job.number for job in jobs] == ["A-003"]


def test_offline_is_reported_and_recovers(device: EmbosserEmulator, embosser: Embosser) -> None:
    embosser.emboss_ticket(ticket("A-004", "Poli Umum"))
    device.wait_for_jobs(1)
    device.offline = True
    assert embosser.state() is DeviceState.OFFLINE
    with pytest.raises(DeviceError) as err:
        embosser.emboss_ticket(ticket("A-005", "Poli Umum"))
    assert err.value.state is DeviceState.OFFLINE
    device.offline = False
    embosser.emboss_ticket(ticket("A-006", "Poli Umum"))
    jobs = device.wait_for_jobs(2)
    assert [job.number for job in jobs] == ["A-004", "A-006"]
    assert embosser.state() is DeviceState.OK


def test_write_timeout_without_status_query(device: EmbosserEmulator) -> None:
    """An embosser that cannot answer ENQ: a hang shows as a write time-out; the
    unfinished page is cancelled on the next job, complete pages were embossed."""
    lines = [f"Baris {n}" for n in range(1, 10001)]  # 400 pages, ~110 kB > a pty buffer
    with Embosser(device.path, timeout_s=FAST, status_query=False) as embosser:
        device.offline = True
        with pytest.raises(DeviceError) as err:
            embosser.emboss_lines(lines)
        assert err.value.state is DeviceState.OFFLINE
        assert embosser.state() is DeviceState.OFFLINE
        device.offline = False
        embosser.emboss_ticket(ticket("A-008", "Poli Umum"))
        assert embosser.state() is DeviceState.OK
    assert device.enquiries == 0
    jobs = device.wait_for_jobs(1)
    while jobs[-1].number != "A-008":
        jobs = device.wait_for_jobs(len(jobs) + 1)
    assert jobs[-1].errors == ()
    assert jobs[-1].text[0] == "Nomor antrean A-008"
    delivered = [line for job in jobs[:-1] for line in job.text]
    assert 0 < len(delivered) < len(lines)
    assert delivered == lines[: len(delivered)]
    # CAN came first after the fault (once per attempt to reach the device); pyserial may
    # report a time-out after the last byte went out, so the fragment it cancels may be empty
    assert device.cancelled


def test_unreachable_port_is_offline(tmp_path: Path) -> None:
    with Embosser(str(tmp_path / "no-such-tty"), timeout_s=FAST) as embosser:
        assert embosser.state() is DeviceState.OFFLINE
        with pytest.raises(DeviceError) as err:
            embosser.emboss_lines(["A-001"])
        assert err.value.state is DeviceState.OFFLINE


def test_byte_stream_over_loop() -> None:
    with Embosser("loop://", width_cells=20, status_query=False) as embosser:
        embosser.emboss_ticket(ticket("A-007", "Poli Umum"))
        port = embosser.port
        assert port is not None
        stream = port.read(port.in_waiting)
    assert stream == b",NOMOR ,A-#JJG\r\n,POLI ,UMUM\r\n#C SEBELUM ,ANDA\r\n\x0c"
    body, rest = stream.split(b"\x0c")
    assert rest == b""
    text = [ascii_to_text(line) for line in body.decode().split("\r\n")[:-1]]
    assert text == ["Nomor A-007", "Poli Umum", "3 sebelum Anda"]


def test_status_query_over_loop_reads_its_own_enq_as_a_fault() -> None:
    """loop:// echoes ENQ back, which is no valid status: the driver calls it an error."""
    with Embosser("loop://", timeout_s=FAST) as embosser:
        assert embosser.state() is DeviceState.ERROR


@pytest.mark.parametrize(
    ("reply", "state"),
    [
        (b"R", DeviceState.OK),
        (b"P", DeviceState.PAPER_OUT),
        (b"E", DeviceState.ERROR),
        (b"?", DeviceState.ERROR),
        (b"", DeviceState.OFFLINE),
    ],
)
def test_parse_status(reply: bytes, state: DeviceState) -> None:
    assert parse_status(reply) is state


@pytest.mark.parametrize(
    ("lines", "width", "per_page", "pages"),
    [
        (["Nomor A-007"], 28, 25, [b",NOMOR ,A-#JJG\r\n\x0c"]),
        ([], 28, 25, [b"\x0c"]),
        (["a", "b", "c"], 28, 2, [b"A\r\nB\r\n\x0c", b"C\r\n\x0c"]),
        (["loket 2 KIA"], 9, 25, [b"LOKET #B\r\n,,KIA\r\n\x0c"]),
    ],
)
def test_job_pages(lines: list[str], width: int, per_page: int, pages: list[bytes]) -> None:
    assert job_pages(lines, width, per_page) == pages


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (b",A-#JJG\r\n", ()),
        (b"A" * 29 + b"\r\n", ("line 1 has 29 cells, more than 28",)),
        (b"#K\r\n", ("line 1: number sign must be followed by a digit: '\u283c' at position 0",)),
        (b"AB\tC\r\n", ("line 1: not a Braille ASCII character: '\\t' at position 2",)),
        (b"AB", ("line 1 not ended by CR LF",)),
    ],
)
def test_emulator_flags_bad_lines(body: bytes, errors: tuple[str, ...]) -> None:
    assert parse_job(1, body, 0.0, width_cells=28).errors == errors


def test_emulator_records_raw_bytes_from_any_sender(tmp_path: Path) -> None:
    out_dir = tmp_path / "embossed"  # made by the emulator
    with EmbosserEmulator(out_dir, width_cells=10) as device:
        with serial.serial_for_url(device.path, timeout=FAST) as port:
            port.write(text_to_ascii("Antrean terlalu panjang").encode() + b"\r\n\x0c")
            port.write(b"\x05")
            assert port.read(1) == b"R"
        (job,) = device.wait_for_jobs(1)
    assert job.text == ("Antrean terlalu panjang",)
    assert job.errors == ("line 1 has 24 cells, more than 10",)
    assert (out_dir / "0001.brf").read_bytes() == job.raw
