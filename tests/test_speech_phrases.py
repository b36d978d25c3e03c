"""The Indonesian sentences, from tables."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from edge.speech.phrases import (
    TicketNumber,
    call_sentence,
    device_fault_sentence,
    help_sentence,
    letter_name,
    no_waiting_sentence,
    number_words,
    parse_number,
    recall_sentence,
    spell_number,
    spoken_service,
    stuck_button_sentence,
    ticket_sentence,
)
from edge.ticket import TicketView


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (1, "satu"),
        (7, "tujuh"),
        (10, "sepuluh"),
        (11, "sebelas"),
        (12, "dua belas"),
        (19, "sembilan belas"),
        (20, "dua puluh"),
        (21, "dua puluh satu"),
        (99, "sembilan puluh sembilan"),
        (100, "seratus"),
        (101, "seratus satu"),
        (110, "seratus sepuluh"),
        (999, "sembilan ratus sembilan puluh sembilan"),
        (1000, "seribu"),
    ],
)
def test_number_words(n: int, words: str) -> None:
    assert number_words(n) == words


LETTERS = [
    ("A", "a"), ("B", "be"), ("C", "ce"), ("D", "de"), ("E", "e"), ("F", "ef"),
    ("G", "ge"), ("H", "ha"), ("I", "i"), ("J", "je"), ("K", "ka"), ("L", "el"),
    ("M", "em"), ("N", "en"), ("O", "o"), ("P", "pe"), ("Q", "ki"), ("R", "er"),
    ("S", "es"), ("T", "te"), ("U", "u"), ("V", "ve"), ("W", "we"), ("X", "eks"),
    ("Y", "ye"), ("Z", "zet"),
]  # fmt: skip


@pytest.mark.parametrize(("letter", "name"), LETTERS)
def test_letter_names(letter: str, name: str) -> None:
    assert letter_name(letter) == name
    assert letter_name(letter.lower()) == name
    assert spell_number(f"{letter}-001") == f"{name.capitalize()} satu"


def test_all_26_letters_have_names() -> None:
    assert [letter for letter, _ in LETTERS] == [chr(c) for c in range(ord("A"), ord("Z") + 1)]


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("A-012", TicketNumber("A", 12)),
        ("A12", TicketNumber("A", 12)),
        ("a012", TicketNumber("A", 12)),
        (" B-7 ", TicketNumber("B", 7)),
        ("Z-999", TicketNumber("Z", 999)),
        ("C1000", TicketNumber("C", 1000)),
    ],
)
def test_parse_number(text: str, parsed: TicketNumber) -> None:
    assert parse_number(text) == parsed


@pytest.mark.parametrize(
    "text", ["", "A", "12", "AB-12", "A-12x", "A--12", "A-000", "A-12345", "Ä-12", "A 12"]
)
def test_parse_number_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_number(text)


def test_ticket_number_prints_zero_padded() -> None:
    assert str(parse_number("A12")) == "A-012"


@pytest.mark.parametrize(
    ("number", "spoken"),
    [
        ("A-001", "A satu"),
        ("A-007", "A tujuh"),
        ("A-010", "A sepuluh"),
        ("A-011", "A sebelas"),
        ("A-012", "A dua belas"),
        ("B-019", "Be sembilan belas"),
        ("C-020", "Ce dua puluh"),
        ("D-021", "De dua puluh satu"),
        ("E-099", "E sembilan puluh sembilan"),
        ("F-100", "Ef seratus"),
        ("G-101", "Ge seratus satu"),
        ("H-110", "Ha seratus sepuluh"),
        ("X-999", "Eks sembilan ratus sembilan puluh sembilan"),
        ("A12", "A dua belas"),
    ],
)
def test_spell_number(number: str, spoken: str) -> None:
    assert spell_number(number) == spoken


def _ticket(number: str, service: str, ahead: int) -> TicketView:
    code = number.split("-", 1)[0]
    return TicketView(number, code, service, datetime(2026, 11, 30, 8, 5), ahead, "Puskesmas Janti")


@pytest.mark.parametrize(
    ("number", "service", "ahead", "sentence"),
    [
        (
            "A-007", "Poli Umum", 3,
            "Nomor antrean Anda A tujuh, Poli Umum. Ada tiga orang sebelum Anda.",
        ),
        (
            "B-012", "Poli Gigi", 1,
            "Nomor antrean Anda Be dua belas, Poli Gigi. Ada satu orang sebelum Anda.",
        ),
        (
            "A-001", "Poli Umum", 0,
            "Nomor antrean Anda A satu, Poli Umum. "
            "Tidak ada antrean sebelum Anda. Anda akan dipanggil berikutnya.",
        ),
        (
            "K-110", "KIA", 21,
            "Nomor antrean Anda Ka seratus sepuluh, ka i a. Ada dua puluh satu orang sebelum "
            "Anda.",
        ),
        (
            "U-001", "Poli UGD", 1,
            "Nomor antrean Anda U satu, Poli u ge de. Ada satu orang sebelum Anda.",
        ),
    ],
)  # fmt: skip
def test_ticket_sentence(number: str, service: str, ahead: int, sentence: str) -> None:
    assert ticket_sentence(_ticket(number, service, ahead)) == sentence


def test_a_spoken_name_from_the_config_is_said_instead() -> None:
    view = replace(_ticket("C-001", "KIA", 0), service_spoken="Kesehatan Ibu dan Anak")
    assert ticket_sentence(view).startswith("Nomor antrean Anda Ce satu, Kesehatan Ibu dan Anak.")


@pytest.mark.parametrize(
    ("name", "spoken"),
    [("KIA", "ka i a"), ("UGD", "u ge de"), ("Poli KIA-KB", "Poli ka i a-ka be"),
     ("Poli Umum", "Poli Umum"), ("A", "A"), ("Lansia", "Lansia")],
)  # fmt: skip
def test_acronyms_are_spelled(name: str, spoken: str) -> None:
    assert spoken_service(name) == spoken


def test_a_call_with_an_acronym_service() -> None:
    assert call_sentence("C-003", 2, "KIA") == (
        "Nomor antrean Ce tiga, ka i a, silakan menuju loket dua."
    )


def test_ticket_sentence_rejects_negative_ahead() -> None:
    with pytest.raises(ValueError):
        ticket_sentence(_ticket("A-001", "Poli Umum", -1))


@pytest.mark.parametrize(
    ("number", "counter", "service", "sentence"),
    [
        ("A-012", 2, None, "Nomor antrean A dua belas, silakan menuju loket dua."),
        ("A12", 1, None, "Nomor antrean A dua belas, silakan menuju loket satu."),
        ("B-101", 11, None, "Nomor antrean Be seratus satu, silakan menuju loket sebelas."),
        (
            "F-003", 3, "Farmasi",
            "Nomor antrean Ef tiga, Farmasi, silakan menuju loket tiga.",
        ),
    ],
)  # fmt: skip
def test_call_sentence(number: str, counter: int, service: str | None, sentence: str) -> None:
    assert call_sentence(number, counter, service) == sentence


def test_recall_sentence() -> None:
    assert recall_sentence("A-012", 2) == (
        "Panggilan ulang. Nomor antrean A dua belas, silakan menuju loket dua."
    )


@pytest.mark.parametrize(
    ("device", "number", "sentence"),
    [
        (
            "embosser", None,
            "Maaf, tiket Braille tidak dapat dicetak saat ini. Mohon ingat nomor antrean Anda.",
        ),
        (
            "printer", None,
            "Maaf, tiket kertas tidak dapat dicetak saat ini. Mohon ingat nomor antrean Anda.",
        ),
        (
            "embosser", "A-007",
            "Maaf, tiket Braille tidak dapat dicetak saat ini. "
            "Mohon ingat nomor antrean Anda: A tujuh.",
        ),
        (
            "cells", "C-020",
            "Maaf, nomor antrean tidak dapat ditampilkan pada sel Braille saat ini. "
            "Mohon ingat nomor antrean Anda: Ce dua puluh.",
        ),
    ],
)  # fmt: skip
def test_device_fault_sentence(device: str, number: str | None, sentence: str) -> None:
    assert device_fault_sentence(device, number) == sentence


def test_device_fault_sentence_rejects_unknown_device() -> None:
    with pytest.raises(ValueError):
        device_fault_sentence("speaker")


@pytest.mark.parametrize(
    ("service", "sentence"),
    [
        (None, "Tidak ada antrean yang menunggu."),
        ("Poli Umum", "Tidak ada antrean yang menunggu untuk Poli Umum."),
    ],
)
def test_no_waiting_sentence(service: str | None, sentence: str) -> None:
    assert no_waiting_sentence(service) == sentence


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (help_sentence(), "Permintaan bantuan Anda sudah diterima. Petugas akan segera datang."),
        (
            stuck_button_sentence(),
            "Tombol tertahan. Mohon lepaskan tombol. "
            "Jika masih bermasalah, mintalah bantuan petugas.",
        ),
    ],
)
def test_fixed_sentences(sentence: str, expected: str) -> None:
    assert sentence == expected


ALL_SENTENCES = [
    ticket_sentence(_ticket("A-012", "Poli Umum", 2)),
    call_sentence("A-012", 2, "Poli Umum"),
    recall_sentence("A-012", 2),
    help_sentence(),
    device_fault_sentence("printer", "A-012"),
    stuck_button_sentence(),
    no_waiting_sentence("Poli Umum"),
]


@pytest.mark.parametrize("sentence", ALL_SENTENCES)
def test_sentences_have_no_digits_and_use_kbbi_spelling(sentence: str) -> None:
    assert not any(ch.isdigit() for ch in sentence)  # numbers are spoken as words
    assert "antrian" not in sentence.lower() and "silahkan" not in sentence.lower()
    assert sentence.endswith(".")
