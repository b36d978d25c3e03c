"""The ink side of a medicine label: every field, the drug and the dose in large print,
and a QR code carrying the whole label as plain text (a phone's screen reader reads it).

The etiket's colour follows practice: white for medicines taken by mouth, blue for
external ones ("obat luar"); the paper is one thermal roll, so the label says which.

>>> from datetime import date
>>> from edge.pharmacy.label import parse_label
>>> label = parse_label({"drug": "Salep 2-4", "dose": "2 x sehari", "external": True,
...     "patient": "Sari", "number": "R-12"}, today=date(2026, 11, 30))
>>> print(plain_text(label, "UPT Puskesmas Janti"))
ETIKET BIRU - OBAT LUAR
UPT Puskesmas Janti
No. R-12, 30-11-2026
Pasien: Sari
Obat: Salep 2-4
Aturan pakai: 2 x sehari
Peringatan: OBAT LUAR
"""

from __future__ import annotations

import textwrap

from escpos.printer import Dummy

from edge.pharmacy.label import Label, Warning

BIG = 2  # magnification of the drug and the dose


def etiket(label: Label) -> str:
    return "ETIKET BIRU - OBAT LUAR" if label.external else "ETIKET PUTIH - OBAT DALAM"


def _warnings(label: Label) -> list[str]:
    words = [w.words.upper() for w in label.warnings]
    if label.external and Warning.OBAT_LUAR not in label.warnings:
        words.insert(0, Warning.OBAT_LUAR.words.upper())
    return words


def fields(label: Label, facility: str) -> list[tuple[str, str]]:
    """(caption, value) of every filled field, in the order the label prints them."""
    patient = f"{label.patient} ({label.age} th)" if label.age else label.patient
    amount = ", ".join(x for x in (label.form, label.quantity) if x)
    rows = [
        ("No.", f"{label.number}, {label.made:%d-%m-%Y}" if label.number
         else f"{label.made:%d-%m-%Y}"),
        ("Pasien", patient), ("Obat", label.drug_line), ("Bentuk/jumlah", amount),
        ("Aturan pakai", label.dose), ("Waktu", ", ".join(label.when)),
        ("Untuk", label.purpose), ("ED", label.expiry_text), ("Simpan", label.storage),
        ("Peringatan", ", ".join(_warnings(label))), ("Apoteker", label.pharmacist),
    ]
    return [(caption, value) for caption, value in rows if value]


def plain_text(label: Label, facility: str) -> str:
    """The whole label as plain text: what the QR code carries."""
    lines = [etiket(label), label.facility or facility]
    for caption, value in fields(label, facility):
        lines.append(f"{caption} {value}" if caption == "No." else f"{caption}: {value}")
    return "\n".join(lines)


def _wrapped(out: Dummy, text: str, width: int) -> None:
    for line in textwrap.wrap(text, width) or [""]:
        out.text(line + "\n")


def label_bytes(label: Label, facility: str, width_chars: int = 32) -> bytes:
    """The ESC/POS job: heading, fields (drug and dose large), warnings, QR, cut."""
    out = Dummy()
    out.hw("INIT")
    out.set(align="center", bold=True)
    _wrapped(out, (label.facility or facility).upper(), width_chars)
    _wrapped(out, etiket(label), width_chars)
    out.set(align="left", bold=False)
    for caption, value in fields(label, facility):
        if caption in ("Obat", "Aturan pakai"):
            out.set(align="left", bold=True, custom_size=True, width=BIG, height=BIG)
            _wrapped(out, value, width_chars // BIG)
            out.set(align="left", normal_textsize=True, bold=False)
        elif caption == "Peringatan":
            out.set(align="left", bold=True)
            _wrapped(out, value, width_chars)
            out.set(align="left", bold=False)
        else:
            prefix = f"{caption} " if caption == "No." else f"{caption}: "
            _wrapped(out, prefix + value, width_chars)
    out.set(align="center")
    out.qr(plain_text(label, facility), native=True, size=4, ec=1)
    out.set(align="left")
    out.cut()
    data: bytes = out.output
    return data
