"""What the speaker says, in standard Indonesian (KBBI). Pure functions, no audio.

Numbers are spoken as words (num2words, ``lang="id"``) and service letters by their
Indonesian names, so espeak-ng reads "A-012" as "A dua belas", never "A nol satu dua".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from num2words import num2words

from edge.ticket import TicketView

LETTER_NAMES: dict[str, str] = {
    "A": "a", "B": "be", "C": "ce", "D": "de", "E": "e", "F": "ef", "G": "ge",
    "H": "ha", "I": "i", "J": "je", "K": "ka", "L": "el", "M": "em", "N": "en",
    "O": "o", "P": "pe", "Q": "ki", "R": "er", "S": "es", "T": "te", "U": "u",
    "V": "ve", "W": "we", "X": "eks", "Y": "ye", "Z": "zet",
}  # fmt: skip

_NUMBER_RE = re.compile(r"([A-Za-z])-?(\d{1,4})")
_ACRONYM_RE = re.compile(r"\b[A-Z]{2,}\b")

# What a patient is told when one ticket output fails; keys are the node's health keys.
_FAULT_PHRASES: dict[str, str] = {
    "embosser": "tiket Braille tidak dapat dicetak saat ini",
    "printer": "tiket kertas tidak dapat dicetak saat ini",
    "cells": "nomor antrean tidak dapat ditampilkan pada sel Braille saat ini",
}


@dataclass(frozen=True)
class TicketNumber:
    """A queue number: service letter and serial.

    >>> parse_number("A-012")
    TicketNumber(letter='A', serial=12)
    >>> str(TicketNumber("B", 7))
    'B-007'
    """

    letter: str
    serial: int

    def __str__(self) -> str:
        return f"{self.letter}-{self.serial:03d}"


def parse_number(text: str) -> TicketNumber:
    """Parse "A-012", "A12" or "a012"; anything else is a ValueError."""
    match = _NUMBER_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"bukan nomor antrean: {text!r} (contoh: A-012 atau A12)")
    serial = int(match.group(2))
    if serial < 1:
        raise ValueError(f"nomor antrean dimulai dari 1: {text!r}")
    return TicketNumber(match.group(1).upper(), serial)


def number_words(n: int) -> str:
    """12 -> "dua belas"."""
    return str(num2words(n, lang="id"))


def letter_name(letter: str) -> str:
    """The letter's Indonesian name: "B" -> "be"."""
    return LETTER_NAMES[letter.upper()]


def spoken_service(name: str) -> str:
    """A service name as espeak-ng should say it: an all-capital word of two or more
    letters is an acronym, spelled letter by letter (espeak-ng reads "KIA" as a word).

    >>> spoken_service("KIA"), spoken_service("Poli UGD 2"), spoken_service("Poli Umum")
    ('ka i a', 'Poli u ge de 2', 'Poli Umum')
    """
    return _ACRONYM_RE.sub(lambda m: " ".join(letter_name(c) for c in m.group()), name)


def spell_number(number: str) -> str:
    """Say a number: "A-012" -> "A dua belas" (letter name capitalised, serial as words)."""
    parsed = parse_number(number)
    return f"{letter_name(parsed.letter).capitalize()} {number_words(parsed.serial)}"


def _ahead_sentence(ahead: int) -> str:
    if ahead < 0:
        raise ValueError(f"ahead must be >= 0, got {ahead}")
    if ahead == 0:
        return "Tidak ada antrean sebelum Anda. Anda akan dipanggil berikutnya."
    return f"Ada {number_words(ahead)} orang sebelum Anda."


def ticket_sentence(ticket: TicketView) -> str:
    """Spoken when a ticket is issued at the kiosk.

    >>> from datetime import datetime
    >>> t = TicketView("A-007", "A", "Poli Umum", datetime(2026, 1, 5, 8), 3, "Puskesmas Janti")
    >>> ticket_sentence(t)
    'Nomor antrean Anda A tujuh, Poli Umum. Ada tiga orang sebelum Anda.'
    """
    service = ticket.service_spoken or spoken_service(ticket.service_name)
    head = f"Nomor antrean Anda {spell_number(ticket.number)}, {service}."
    return f"{head} {_ahead_sentence(ticket.ahead)}"


def call_sentence(number: str, counter: int, service_name: str | None = None) -> str:
    """Spoken (after the chime) when staff call a number.

    >>> call_sentence("A-012", 2)
    'Nomor antrean A dua belas, silakan menuju loket dua.'
    """
    service = f" {spoken_service(service_name)}," if service_name else ""
    return (
        f"Nomor antrean {spell_number(number)},{service} "
        f"silakan menuju loket {number_words(counter)}."
    )


def recall_sentence(number: str, counter: int, service_name: str | None = None) -> str:
    """Spoken when staff call the same number again."""
    return f"Panggilan ulang. {call_sentence(number, counter, service_name)}"


def help_sentence() -> str:
    return "Permintaan bantuan Anda sudah diterima. Petugas akan segera datang."


def device_fault_sentence(device: str, number: str | None = None) -> str:
    """Tells the patient an output failed and the spoken number is what counts.

    ``device`` is a health key: "embosser", "printer" or "cells".

    >>> device_fault_sentence("embosser")
    'Maaf, tiket Braille tidak dapat dicetak saat ini. Mohon ingat nomor antrean Anda.'
    """
    try:
        what = _FAULT_PHRASES[device]
    except KeyError:
        raise ValueError(f"unknown ticket device {device!r}") from None
    if number is None:
        return f"Maaf, {what}. Mohon ingat nomor antrean Anda."
    return f"Maaf, {what}. Mohon ingat nomor antrean Anda: {spell_number(number)}."


def stuck_button_sentence() -> str:
    """Spoken when a button stays pressed far longer than a press."""
    return (
        "Tombol tertahan. Mohon lepaskan tombol. "
        "Jika masih bermasalah, mintalah bantuan petugas."
    )


def no_waiting_sentence(service_name: str | None = None) -> str:
    """Spoken at a counter whose caller pressed "next" with nobody waiting."""
    if service_name:
        return f"Tidak ada antrean yang menunggu untuk {service_name}."
    return "Tidak ada antrean yang menunggu."


def storage_fault_sentence() -> str:
    """Spoken at the kiosk when a ticket cannot be stored (the disk is full or failing).

    >>> storage_fault_sentence().startswith("Mohon maaf")
    True
    """
    return (
        "Mohon maaf, nomor antrean tidak dapat dibuat saat ini karena gangguan sistem. "
        "Silakan minta bantuan petugas di loket pendaftaran."
    )


def storage_fault_staff_sentence() -> str:
    """Spoken at a counter whose action cannot be stored."""
    return "Maaf, perubahan antrean tidak dapat disimpan karena gangguan sistem. Hubungi teknisi."


def bpjs_refused_sentence(number: str) -> str:
    """Said to the staff when BPJS refuses a call for a registered ticket.

    >>> bpjs_refused_sentence("A-012")
    'Perhatian petugas: data BPJS untuk antrean A dua belas ditolak. Periksa nomor kartu pasien.'
    """
    return (f"Perhatian petugas: data BPJS untuk antrean {spell_number(number)} ditolak. "
            "Periksa nomor kartu pasien.")
