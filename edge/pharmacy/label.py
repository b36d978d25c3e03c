"""A medicine label (etiket obat) as one checked value, from the JSON the form, the API,
the MQTT command and ``brexit label`` all take.

Fields follow Indonesian etiket practice (Permenkes 73/2016, 74/2016). A label that cannot
be made is refused with ``LabelError``, whose message names the JSON field, in Bahasa
Indonesia (the pharmacist reads it on the form):

>>> from datetime import date
>>> try:
...     parse_label({"drug": "Parasetamol"}, today=date(2026, 11, 30))
... except LabelError as e:
...     print(e)
dose: aturan pakai wajib diisi (contoh: 3 x sehari 1 tablet)
>>> label = parse_label({"drug": "Amoksisilin", "strength": "500 mg",
...                      "dose": "3 x sehari 1/2 tablet", "expiry": "2027-12",
...                      "warnings": ["habiskan"]}, today=date(2026, 11, 30))
>>> label.dose, label.expiry_text
('3 x sehari setengah tablet', '12-2027')
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from edge.braille.codec import unwritable


class Warning(StrEnum):
    """The extra warnings an etiket may carry (the JSON names)."""

    HABISKAN = "habiskan"  # antibiotics: finish them
    KOCOK_DAHULU = "kocok_dahulu"  # suspensions: shake first
    OBAT_LUAR = "obat_luar"  # external use only (the blue etiket)
    MENGANTUK = "mengantuk"  # may cause drowsiness

    @property
    def words(self) -> str:
        """How the label writes it (Braille, ink, speech)."""
        return _WARNING_WORDS[self]


_WARNING_WORDS = {
    Warning.HABISKAN: "habiskan",
    Warning.KOCOK_DAHULU: "kocok dahulu",
    Warning.OBAT_LUAR: "obat luar",
    Warning.MENGANTUK: "dapat menyebabkan kantuk",
}

TIMES = ("pagi", "siang", "sore", "malam")
MEALS = ("sebelum makan", "saat makan", "sesudah makan")
OTHER_WHEN = ("sebelum tidur", "bila perlu")
WHEN_WORDS = TIMES + MEALS + OTHER_WHEN

MAX_CHARS = {
    "patient": 60, "drug": 60, "strength": 30, "form": 30, "quantity": 30, "dose": 60,
    "purpose": 60, "storage": 80, "pharmacist": 60, "number": 20, "facility": 80,
}
BRAILLE_FIELDS = ("drug", "strength", "dose")  # text that goes to the Braille lines
_HALF = re.compile(r"(?<![\d/])(?:1/2|½)(?![\d/])")
_EXPIRY = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")
_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9/-]{0,19}")


class LabelError(ValueError):
    """A label that cannot be made; ``field`` is the JSON field at fault."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Label:
    """One checked etiket; ``made`` is the day it was made, ``number`` may be assigned later."""

    drug: str
    dose: str
    made: date
    strength: str = ""
    form: str = ""
    quantity: str = ""
    when: tuple[str, ...] = ()
    purpose: str = ""
    expiry: str = ""  # "YYYY-MM" or "YYYY-MM-DD", as given
    storage: str = ""
    warnings: tuple[Warning, ...] = ()
    external: bool = False
    patient: str = ""
    age: str = ""
    pharmacist: str = ""
    number: str = ""
    facility: str = ""

    @property
    def drug_line(self) -> str:
        return f"{self.drug} {self.strength}".strip()

    @property
    def expiry_text(self) -> str:
        """ED as a reader writes it: ``12-2027`` or ``31-12-2027``."""
        match = _EXPIRY.fullmatch(self.expiry)
        if match is None:
            return ""
        year, month, day = match.groups()
        return f"{day}-{month}-{year}" if day else f"{month}-{year}"

    def to_json(self) -> dict[str, Any]:
        """The label as the JSON object the form, the API and the command take."""
        out: dict[str, Any] = {
            "drug": self.drug, "dose": self.dose, "strength": self.strength,
            "form": self.form, "quantity": self.quantity, "when": list(self.when),
            "purpose": self.purpose, "expiry": self.expiry, "storage": self.storage,
            "warnings": [w.value for w in self.warnings], "external": self.external,
            "patient": self.patient, "age": self.age, "pharmacist": self.pharmacist,
            "number": self.number, "facility": self.facility, "date": self.made.isoformat(),
        }
        return {k: v for k, v in out.items() if v not in ("", [])}


def last_day(expiry: str) -> date:
    """The last day a medicine of this ED may be used; raises ValueError if not a date."""
    match = _EXPIRY.fullmatch(expiry)
    if match is None:
        raise ValueError(expiry)
    year, month = int(match.group(1)), int(match.group(2))
    if match.group(3):
        return date(year, month, int(match.group(3)))
    if not 1 <= month <= 12:
        raise ValueError(expiry)
    return date(year, month, calendar.monthrange(year, month)[1])


def normalise_dose(dose: str) -> str:
    """½ as Braille readers read it: "setengah" (1/2 would be two numbers and a slash).

    >>> normalise_dose("2 x sehari ½ tablet")
    '2 x sehari setengah tablet'
    """
    return " ".join(_HALF.sub("setengah", dose).split())


def _text(raw: dict[str, Any], name: str, *, required: str | None = None) -> str:
    value = raw.get(name, "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise LabelError(name, "harus berupa teks")
    value = normalise_dose(value) if name == "dose" else " ".join(value.split())
    if not value and required:
        raise LabelError(name, required)
    if len(value) > MAX_CHARS.get(name, 80):
        raise LabelError(name, f"terlalu panjang (paling banyak {MAX_CHARS[name]} huruf)")
    if name in BRAILLE_FIELDS:
        _writable(name, value)
    return value


def _writable(name: str, value: str) -> None:
    bad = unwritable(value)
    if bad is not None:
        raise LabelError(
            name, f"huruf {bad[0]!r} (ke-{bad[1] + 1}) tidak dapat ditulis dalam Braille"
        )


def _when(raw: dict[str, Any]) -> tuple[str, ...]:
    value = raw.get("when", [])
    if isinstance(value, str):
        value = [v for v in (p.strip() for p in value.split(",")) if v]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LabelError("when", "harus berupa daftar, misalnya [\"pagi\", \"sesudah makan\"]")
    words = [" ".join(v.lower().split()) for v in value]
    for word in words:
        if word not in WHEN_WORDS:
            raise LabelError("when", f"{word!r} tidak dikenal (pilih: {', '.join(WHEN_WORDS)})")
    return tuple(w for w in WHEN_WORDS if w in words)  # the order of the day


def _warnings(raw: dict[str, Any]) -> tuple[Warning, ...]:
    value = raw.get("warnings", [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LabelError("warnings", "harus berupa daftar, misalnya [\"habiskan\"]")
    out: list[Warning] = []
    for name in value:
        try:
            out.append(Warning(name))
        except ValueError:
            known = ", ".join(w.value for w in Warning)
            raise LabelError("warnings", f"{name!r} tidak dikenal (pilih: {known})") from None
    return tuple(w for w in Warning if w in out)


def _expiry(raw: dict[str, Any], today: date) -> str:
    value = _text(raw, "expiry")
    if not value:
        return ""
    try:
        end = last_day(value)
    except ValueError:
        raise LabelError("expiry", f"{value!r} bukan tanggal (YYYY-MM atau YYYY-MM-DD)") from None
    if end < today:
        raise LabelError("expiry", f"tanggal kedaluwarsa {value} sudah lewat")
    return value


def _age(raw: dict[str, Any]) -> str:
    value = raw.get("age", "")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise LabelError("age", "harus berupa angka tahun")
    text = str(value).strip()
    if text and not (text.isdigit() and int(text) <= 130):
        raise LabelError("age", f"{text!r} bukan umur dalam tahun (0-130)")
    return text


def _external(raw: dict[str, Any], warnings: tuple[Warning, ...]) -> bool:
    value = raw.get("external", False)
    if not isinstance(value, bool):
        raise LabelError("external", "harus true atau false")
    return value or Warning.OBAT_LUAR in warnings


def parse_label(raw: Any, *, today: date) -> Label:
    """Check a label's JSON object and build the ``Label`` (``today``: the node's day)."""
    if not isinstance(raw, dict):
        raise LabelError("label", "harus berupa objek JSON")
    warnings = _warnings(raw)
    number = _text(raw, "number")
    if number and not _NUMBER.fullmatch(number):
        raise LabelError("number", "hanya huruf, angka, - dan / (paling banyak 20)")
    return Label(
        drug=_text(raw, "drug", required="nama obat wajib diisi"),
        dose=_text(raw, "dose", required="aturan pakai wajib diisi (contoh: 3 x sehari 1 tablet)"),
        made=today,
        strength=_text(raw, "strength"),
        form=_text(raw, "form"),
        quantity=_text(raw, "quantity"),
        when=_when(raw),
        purpose=_text(raw, "purpose"),
        expiry=_expiry(raw, today),
        storage=_text(raw, "storage"),
        warnings=warnings,
        external=_external(raw, warnings),
        patient=_text(raw, "patient"),
        age=_age(raw),
        pharmacist=_text(raw, "pharmacist"),
        number=number,
        facility=_text(raw, "facility"),
    )
