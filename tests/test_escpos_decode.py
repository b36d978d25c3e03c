"""The ESC/POS decoder, from bytes to meaning, table by table."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from edge.devices.escpos_decode import (
    Align,
    Cut,
    Element,
    Feed,
    Init,
    QrCode,
    StatusQuery,
    StreamDecoder,
    Style,
    TextLine,
    TextRun,
    Unknown,
    decode,
)
from edge.devices.printer_layout import (
    QrTicket,
    ahead_text,
    format_datetime_id,
    lines_bytes,
    ticket_bytes,
)
from edge.ticket import TicketView


def line(text: str, align: Align = Align.LEFT, **style: int | bool) -> TextLine:
    return TextLine((TextRun(text, Style(**style)),), align)  # type: ignore[arg-type]


def qr_fn(fn: int, params: bytes) -> bytes:
    body = bytes([49, fn]) + params
    return b"\x1d(k" + len(body).to_bytes(2, "little") + body


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"Halo\n", [line("Halo")]),
        (b"\n", [TextLine(())]),
        (b"Halo\r\n", [line("Halo")]),
        (b"\x1b@", [Init()]),
        (b"\x1bE\x01Tebal\n", [line("Tebal", bold=True)]),
        (b"\x1bG\x01Tebal\n", [line("Tebal", bold=True)]),
        (b"\x1b-\x02Garis\n", [line("Garis", underline=2)]),
        (b"\x1b-1Garis\n", [line("Garis", underline=1)]),
        (b"\x1b!\x08Tebal\n", [line("Tebal", bold=True)]),
        (b"\x1b!\x30Besar\n", [line("Besar", width=2, height=2)]),
        (b"\x1b!\x10Tinggi\n", [line("Tinggi", height=2)]),
        (b"\x1b!\x20Lebar\n", [line("Lebar", width=2)]),
        (b"\x1b!\x80Garis\n", [line("Garis", underline=1)]),
        (b"\x1b!\x01Font B\n", [line("Font B", font=1)]),
        (b"\x1d!\x33A-007\n", [line("A-007", width=4, height=4)]),
        (b"\x1d!\x10Lebar\n", [line("Lebar", width=2)]),
        (b"\x1d!\x77Maks\n", [line("Maks", width=8, height=8)]),
        (b"\x1d!\x30\x1b!\x00Normal\n", [line("Normal")]),
        (b"\x1dB\x01Balik\n", [line("Balik", invert=True)]),
        (b"\x1b{\x01Terbalik\n", [line("Terbalik", upside_down=True)]),
        (b"\x1ba\x01Tengah\n", [line("Tengah", Align.CENTER)]),
        (b"\x1ba2Kanan\n", [line("Kanan", Align.RIGHT)]),
        (b"\x1ba\x01\x1ba\x00Kiri\n", [line("Kiri")]),
        (b"\x1bt\x10Caf\xe9\n", [line("Café")]),
        (b"\x1bt\x00\x82\n", [line("é")]),
        (b"\x1b3\x30\x1b2\x1d|\x04\x1db\x01Teks\n", [line("Teks")]),
        (b"\x1bd\x06", [Feed(6)]),
        (b"\x1bJ\x18", [Feed(24, dots=True)]),
        (b"\x1dV\x00", [Cut(partial=False)]),
        (b"\x1dV0", [Cut(partial=False)]),
        (b"\x1dV\x01", [Cut(partial=True)]),
        (b"\x1dV1", [Cut(partial=True)]),
        (b"\x1dVA\x10", [Cut(partial=False, feed=16)]),
        (b"\x1dVB\x03", [Cut(partial=True, feed=3)]),
        (b"\x10\x04\x01", [StatusQuery(1)]),
        (b"\x10\x04\x04", [StatusQuery(4)]),
    ],
)
def test_single_commands(data: bytes, expected: list[Element]) -> None:
    assert decode(data) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"Sisa", [line("Sisa")]),  # text still in the buffer is reported as a line
        (b"Belum\x1dV\x00", [line("Belum"), Cut(partial=False)]),  # a cut prints the buffer
        (b"Feed\x1bd\x02", [line("Feed"), Feed(2)]),
        (b"\x1bE\x01A\x1bE\x00B\n", [TextLine((TextRun("A", Style(bold=True)),
                                                TextRun("B", Style())))]),
        (b"\x1bE\x01Tebal\x1b@Biasa\n", [line("Tebal", bold=True), Init(), line("Biasa")]),
        (b"\x1ba\x01\x1bE\x01X\n\x1b@Y\n", [line("X", Align.CENTER, bold=True), Init(),
                                            line("Y")]),
    ],
)
def test_line_buffer_and_state(data: bytes, expected: list[Element]) -> None:
    assert decode(data) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (qr_fn(80, b"0BREXIT") + qr_fn(81, b"0"), [QrCode("BREXIT", 3, "L", 2)]),
        (
            qr_fn(65, b"2\x00") + qr_fn(67, b"\x08") + qr_fn(69, b"3") + qr_fn(80, b"0A-007")
            + qr_fn(81, b"0"),
            [QrCode("A-007", 8, "H", 2)],
        ),
        (qr_fn(69, b"1") + qr_fn(80, b"0x") + qr_fn(81, b"0"), [QrCode("x", 3, "M", 2)]),
        (b"Teks" + qr_fn(80, b"0Q") + qr_fn(81, b"0"), [line("Teks"), QrCode("Q", 3, "L", 2)]),
        (qr_fn(81, b"0"), [Unknown(qr_fn(81, b"0"), "QR print with no stored data")]),
        (qr_fn(82, b"0"), [Unknown(qr_fn(82, b"0"), "QR function 82 not supported")]),
    ],
)
def test_qr(data: bytes, expected: list[Element]) -> None:
    assert decode(data) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            b"\x1bp\x00\x19\xfa",
            [Unknown(b"\x1bp", "unknown command"), Unknown(b"\x00", "unknown control byte"),
             Unknown(b"\x19", "unknown control byte"), line("\u00b7")],
        ),
        (b"\x07", [Unknown(b"\x07", "unknown control byte")]),
        (b"\x1dV\x07", [Unknown(b"\x1dV\x07", "cut mode not supported")]),
        (b"\x1ba\x05", [Unknown(b"\x1ba\x05", "bad alignment")]),
        (b"\x1bt\x63", [Unknown(b"\x1bt\x63", "code page not supported")]),
        (b"\x1b-\x07", [Unknown(b"\x1b-\x07", "bad underline mode")]),
        (b"\x1d!\x80", [Unknown(b"\x1d!\x80", "character size out of range")]),
        (b"\x10\x04\x07", [Unknown(b"\x10\x04\x07", "status query n not in 1..4")]),
        (b"\x1d(L\x02\x000p", [Unknown(b"\x1d(L\x02\x000p", "GS ( function not supported")]),
        (b"\x1d(k\x05\x00", [Unknown(b"\x1d(k\x05\x00", "stream ends inside a command")]),
        (b"\x1b", [Unknown(b"\x1b", "stream ends inside a command")]),
    ],
)
def test_unknown_and_broken_input_is_reported(data: bytes, expected: list[Element]) -> None:
    assert decode(data) == expected


def test_unknown_command_does_not_stop_decoding() -> None:
    elements = decode(b"\x1b\x99A\nB\n")
    assert elements == [Unknown(b"\x1b\x99", "unknown command"), line("A"), line("B")]


def test_stream_decoder_gives_the_same_meaning_in_any_chunking() -> None:
    ticket = TicketView("B-012", "B", "Poli Gigi", datetime(2026, 12, 1, 13, 40), 0,
                        "Puskesmas Dinoyo")
    data = ticket_bytes(ticket)
    whole = decode(data)
    for size in (1, 2, 3, 7, 64):
        decoder = StreamDecoder()
        pieces = [decoder.feed(data[i : i + size]) for i in range(0, len(data), size)]
        assert [e for piece in pieces for e in piece] == whole


# --- the layout decodes back to the ticket -------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 11, 29, 8, 5), "Minggu, 29 November 2026 08.05"),
        (datetime(2026, 11, 30, 7, 0), "Senin, 30 November 2026 07.00"),
        (datetime(2026, 1, 1, 23, 59), "Kamis, 1 Januari 2026 23.59"),
        (datetime(2025, 8, 17, 10, 0), "Minggu, 17 Agustus 2025 10.00"),
        (datetime(2026, 2, 20, 12, 30), "Jumat, 20 Februari 2026 12.30"),
        (datetime(2026, 5, 6, 9, 9), "Rabu, 6 Mei 2026 09.09"),
        (datetime(2026, 6, 2, 14, 15), "Selasa, 2 Juni 2026 14.15"),
        (datetime(2026, 3, 14, 16, 45), "Sabtu, 14 Maret 2026 16.45"),
    ],
)
def test_indonesian_date_and_time(moment: datetime, text: str) -> None:
    assert format_datetime_id(moment) == text


@pytest.mark.parametrize(
    ("ahead", "text"),
    [(0, "Tidak ada antrean sebelum Anda"), (1, "1 orang sebelum Anda"),
     (12, "12 orang sebelum Anda")],
)
def test_ahead_text(ahead: int, text: str) -> None:
    assert ahead_text(ahead) == text


@pytest.mark.parametrize(
    "qr",
    [QrTicket("Puskesmas Janti", "A-007", date(2026, 11, 29)),
     QrTicket("Puskesmas Rampal Celaket", "C-120", date(2027, 1, 2))],
)
def test_qr_payload_round_trip(qr: QrTicket) -> None:
    assert QrTicket.parse(qr.encode()) == qr


@pytest.mark.parametrize("payload", ["", "A-007", "BREXIT|Janti|A-007", "X|Janti|A-007|2026-11-29"])
def test_qr_payload_rejects_other_codes(payload: str) -> None:
    with pytest.raises(ValueError):
        QrTicket.parse(payload)


def test_ticket_layout_decodes_to_the_ticket() -> None:
    ticket = TicketView("A-007", "A", "Poli Umum", datetime(2026, 11, 29, 8, 5), 3,
                        "Puskesmas Janti", assisted=True)
    elements = decode(ticket_bytes(ticket))
    lines = [e for e in elements if isinstance(e, TextLine)]
    assert [x.text for x in lines] == [
        "PUSKESMAS JANTI", "Poli Umum", "Nomor Antrean", "A-007",
        "Minggu, 29 November 2026 08.05", "3 orang sebelum Anda", "Mohon menunggu panggilan",
        "Perlu pendampingan petugas",
    ]
    big = [x for x in lines if x.big]
    assert [(x.text, x.width, x.height) for x in big] == [("Poli Umum", 1, 2), ("A-007", 4, 4)]
    assert lines[0].bold and all(x.align is Align.CENTER for x in lines)
    qr = [e for e in elements if isinstance(e, QrCode)]
    assert [QrTicket.parse(q.payload) for q in qr] == [QrTicket.of(ticket)]
    assert isinstance(elements[0], Init) and isinstance(elements[-1], Cut)
    assert not [e for e in elements if isinstance(e, Unknown)]


def test_long_lines_wrap_to_the_paper_width() -> None:
    data = lines_bytes(["Paracetamol 500 mg tiga kali sehari sesudah makan"], title="Etiket",
                       width_chars=20)
    texts = [e.text for e in decode(data) if isinstance(e, TextLine)]
    assert texts == ["Etiket", "Paracetamol 500 mg", "tiga kali sehari", "sesudah makan"]
    assert all(len(t) <= 20 for t in texts)


def test_a_long_number_falls_back_to_double_size() -> None:
    ticket = TicketView("POLI-1234", "POLI", "Poli Lansia", datetime(2026, 11, 29, 8, 5), 0,
                        "Puskesmas Janti")
    big = [e for e in decode(ticket_bytes(ticket)) if isinstance(e, TextLine) and e.big]
    assert [(b.text, b.width) for b in big] == [("Poli Lansia", 1), ("POLI-1234", 2)]
