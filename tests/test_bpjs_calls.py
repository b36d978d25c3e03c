"""BPJS call bodies and the checks on what staff type in (tables)."""

from __future__ import annotations

import pytest

from edge.bpjs.calls import Patient, PatientError, add_body, batal_body, panggil_body
from edge.bpjs.config import Poli

POLI = Poli("001", "UMUM", 12345, "dr. Ani", "08:00-12:00")
CARD = "0001234567890"


@pytest.mark.parametrize(
    ("patient", "message"),
    [
        (Patient(""), "card number .* or a NIK"),
        (Patient("123"), "card number must be 13 digits"),
        (Patient("000123456789a"), "card number must be 13 digits"),
        (Patient("", nik="12345"), "NIK must be 16 digits"),
        (Patient(CARD, nohp="0812"), "phone number"),
    ],
)
def test_identifiers_are_checked_and_never_echoed(patient: Patient, message: str) -> None:
    with pytest.raises(PatientError, match=message) as err:
        patient.check()
    assert CARD not in str(err.value) and "123" not in repr(patient)


def test_the_add_body_has_every_field_the_service_needs() -> None:
    body = add_body(Patient(CARD, nohp="081234567890", norm="RM-7"), POLI,
                    number="C-012", day="2026-11-30")
    assert body == {
        "nomorkartu": CARD, "nik": "", "nohp": "081234567890", "kodepoli": "001",
        "namapoli": "UMUM", "norm": "RM-7", "tanggalperiksa": "2026-11-30",
        "kodedokter": 12345, "namadokter": "dr. Ani", "jampraktek": "08:00-12:00",
        "nomorantrean": "C-012", "angkaantrean": 12, "keterangan": "",
    }


@pytest.mark.parametrize(("present", "status"), [(True, 1), (False, 2)])
def test_panggil_is_hadir_or_tidak_hadir(present: bool, status: int) -> None:
    body = panggil_body(Patient(CARD), POLI, day="2026-11-30", present=present, at_ms=17)
    assert (body["status"], body["waktu"], body["kodepoli"]) == (status, 17, "001")


def test_batal_carries_the_reason() -> None:
    assert batal_body(Patient(CARD), POLI, day="d", reason="pasien pulang")["alasan"] == (
        "pasien pulang"
    )
