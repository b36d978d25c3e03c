"""Braille line layout: wrapping measured in cells, and the three-line ticket."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.braille.codec import cell_count, decode, encode
from edge.braille.layout import ticket_lines, wrap
from edge.ticket import TicketView

AT = datetime(2026, 11, 29, 8, 5)


def ticket(number: str, service: str, ahead: int) -> TicketView:
    return TicketView(number, number.split("-")[0], service, AT, ahead, "Puskesmas Janti")


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("Kesehatan Ibu dan Anak", 16, ["Kesehatan Ibu", "dan Anak"]),
        ("Kesehatan Ibu dan Anak", 40, ["Kesehatan Ibu dan Anak"]),
        # "KIA" takes 5 cells (6-6 K I A): it does not fit after "poli" in 9
        ("poli KIA", 9, ["poli", "KIA"]),
        ("poli KIA", 10, ["poli KIA"]),
        # "loket 2": the digit costs a number sign, so 7 letters+space+2 cells = 8
        ("loket 2", 7, ["loket", "2"]),
        ("loket 2", 8, ["loket 2"]),
        # "12.30" is 7 cells: number sign, a, b, full stop, number sign again, c, j
        ("jam 12.30 di loket 3", 10, ["jam", "12.30 di", "loket 3"]),
        ("  banyak   spasi  ", 20, ["banyak spasi"]),
        ("", 20, []),
    ],
)
def test_wrap_measures_in_cells(text: str, width: int, expected: list[str]) -> None:
    assert wrap(text, width) == expected


@pytest.mark.parametrize(("text", "width"), [("A-007", 6), ("12.30", 6), ("Kesehatan", 9)])
def test_wrap_refuses_a_token_that_cannot_fit(text: str, width: int) -> None:
    with pytest.raises(ValueError, match="cells"):
        wrap(text, width)


def test_wrap_can_break_long_words_but_never_numbers() -> None:
    assert wrap("Imunisasi", 5, break_long_words=True) == ["Imun", "isasi"]
    assert wrap("KESEHATAN", 6, break_long_words=True) == ["KESE", "HATA", "N"]
    with pytest.raises(ValueError):
        wrap("A-0007", 5, break_long_words=True)


def test_wrap_rejects_a_zero_width() -> None:
    with pytest.raises(ValueError):
        wrap("a", 0)


words = st.text(alphabet="abcdeKIA0123-.", min_size=1, max_size=6)  # at most 12 cells


@given(st.lists(words, max_size=8), st.integers(min_value=12, max_value=40))
def test_wrap_keeps_every_word_whole_and_within_width(ws: list[str], width: int) -> None:
    lines = wrap(" ".join(ws), width)
    assert all(cell_count(line) <= width for line in lines)
    assert " ".join(lines).split() == ws


@pytest.mark.parametrize(
    ("t", "width", "expected"),
    [
        (ticket("A-007", "Poli Umum", 3), 16, ["Nomor A-007", "Poli Umum", "3 sebelum Anda"]),
        (ticket("A-007", "Poli Umum", 3), 20, ["Nomor A-007", "Poli Umum", "3 sebelum Anda"]),
        (
            ticket("A-007", "Poli Umum", 3),
            28,
            ["Nomor antrean A-007", "Poli Umum", "3 sebelum Anda, 08.05"],
        ),
        (
            ticket("A-007", "Poli Umum", 3),
            40,
            ["Nomor antrean A-007", "Poli Umum", "3 orang sebelum Anda, 29/11 08.05"],
        ),
        (
            ticket("C-012", "Kesehatan Ibu dan Anak", 0),
            16,
            ["Nomor C-012", "Kesehatan Ibu", "dan Anak"],
        ),
        (
            ticket("C-012", "Kesehatan Ibu dan Anak", 0),
            20,
            ["Nomor C-012", "Kesehatan Ibu dan", "Anak"],
        ),
        (
            ticket("C-012", "Kesehatan Ibu dan Anak", 0),
            28,
            ["Nomor antrean C-012", "Kesehatan Ibu dan Anak", "Anda berikutnya, 08.05"],
        ),
        (
            ticket("C-012", "Kesehatan Ibu dan Anak", 0),
            40,
            ["Nomor antrean C-012", "Kesehatan Ibu dan Anak", "Anda berikutnya, 29/11 08.05"],
        ),
        (ticket("B-123", "KIA", 15), 16, ["Nomor B-123", "KIA", "Di depan: 15"]),
        (ticket("B-123", "KIA", 15), 20, ["Nomor B-123", "KIA", "15 sebelum Anda"]),
        (
            ticket("E-1000", "Imunisasi", 2),
            28,
            ["Nomor antrean E-1000", "Imunisasi", "2 sebelum Anda, 08.05"],
        ),
        (ticket("A-007", "Poli Umum", 3), 7, ["A-007", "Poli", "Umum"]),
        (ticket("A-007", "Pemeriksaan", 3), 7, ["A-007", "Pemeri", "ksaan"]),
    ],
)
def test_ticket_lines(t: TicketView, width: int, expected: list[str]) -> None:
    assert ticket_lines(t, width) == expected


services = st.sampled_from(
    [
        "Poli Umum",
        "KIA",
        "Kesehatan Ibu dan Anak",
        "Poli Gigi dan Mulut",
        "Laboratorium",
        "Farmasi",
        "MTBS",
        "Pemeriksaan Kesehatan Lanjut Usia dan Disabilitas",
    ]
)


@given(
    services,
    st.sampled_from("ABCDEFG"),
    st.integers(min_value=1, max_value=9999),
    st.integers(min_value=0, max_value=500),
    st.integers(min_value=16, max_value=40),
)
def test_ticket_lines_fit_and_lead_with_the_whole_number(
    service: str, code: str, serial: int, ahead: int, width: int
) -> None:
    number = f"{code}-{serial:03d}"
    lines = ticket_lines(ticket(number, service, ahead), width)
    assert 2 <= len(lines) <= 3
    assert all(len(encode(line)) <= width for line in lines)
    assert decode(encode(lines[0])).split()[-1] == number
    assert service.split()[0] in lines[1]


def test_a_number_wider_than_the_line_is_an_error() -> None:
    with pytest.raises(ValueError, match="A-007"):
        ticket_lines(ticket("A-007", "Poli Umum", 3), 6)


def test_braille_speech_and_ink_say_orang_alike() -> None:
    from edge.devices.printer_layout import ahead_text
    from edge.speech.phrases import ticket_sentence

    view = ticket("A-007", "Poli Umum", 3)
    braille = ticket_lines(view, 48)[-1]
    assert braille.startswith("3 orang sebelum Anda")
    assert "tiga orang sebelum Anda" in ticket_sentence(view)
    assert ahead_text(3) == "3 orang sebelum Anda"  # the ink ticket's line
