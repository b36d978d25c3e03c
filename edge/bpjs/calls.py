"""The three calls to Antrean FKTP, as pure builders of their JSON bodies.

>>> p = Patient("0001234567890", "", "081234567890", "RM-7")
>>> poli = Poli("001", "UMUM", 12345, "dr. Ani", "08:00-12:00")
>>> add_body(p, poli, number="A-012", day="2026-11-30")["angkaantrean"]
12
>>> panggil_body(p, poli, day="2026-11-30", present=False, at_ms=1)["status"]
2
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from edge.bpjs.config import Poli

CARD = re.compile(r"\d{13}")
NIK = re.compile(r"\d{16}")
PHONE = re.compile(r"\+?\d{8,15}")


class Call(StrEnum):
    ADD = "add"
    PANGGIL = "panggil"
    BATAL = "batal"

    @property
    def path(self) -> str:
        return f"/antrean/{self.value}"


class PatientError(ValueError):
    """A card number, NIK or phone number that cannot be right; says which, never echoes it."""


@dataclass(frozen=True)
class Patient:
    """A BPJS patient's identifiers, entered by staff at the counter (never sent over MQTT)."""

    nomorkartu: str
    nik: str = ""
    nohp: str = ""
    norm: str = ""

    def __repr__(self) -> str:  # identifiers never reach a log
        return "Patient(***)"

    def check(self) -> Patient:
        if not self.nomorkartu and not self.nik:
            raise PatientError("a BPJS card number (13 digits) or a NIK (16 digits) is needed")
        if self.nomorkartu and not CARD.fullmatch(self.nomorkartu):
            raise PatientError("the BPJS card number must be 13 digits")
        if self.nik and not NIK.fullmatch(self.nik):
            raise PatientError("the NIK must be 16 digits")
        if self.nohp and not PHONE.fullmatch(self.nohp):
            raise PatientError("the phone number must be 8 to 15 digits")
        return self


def queue_number(number: str) -> int:
    """The number part of "A-012" (``angkaantrean``)."""
    digits = number.rsplit("-", 1)[-1]
    return int(digits) if digits.isdigit() else 0


def add_body(p: Patient, poli: Poli, *, number: str, day: str) -> dict[str, Any]:
    return {
        "nomorkartu": p.nomorkartu, "nik": p.nik, "nohp": p.nohp,
        "kodepoli": poli.kodepoli, "namapoli": poli.namapoli, "norm": p.norm,
        "tanggalperiksa": day, "kodedokter": poli.kodedokter, "namadokter": poli.namadokter,
        "jampraktek": poli.jampraktek, "nomorantrean": number,
        "angkaantrean": queue_number(number), "keterangan": "",
    }


def panggil_body(
    p: Patient, poli: Poli, *, day: str, present: bool, at_ms: int
) -> dict[str, Any]:
    """Status 1: the patient came when called (hadir); 2: did not come (tidak hadir)."""
    return {"tanggalperiksa": day, "kodepoli": poli.kodepoli, "nomorkartu": p.nomorkartu,
            "status": 1 if present else 2, "waktu": at_ms}


def batal_body(p: Patient, poli: Poli, *, day: str, reason: str) -> dict[str, Any]:
    return {"tanggalperiksa": day, "kodepoli": poli.kodepoli, "nomorkartu": p.nomorkartu,
            "alasan": reason}
