"""The spoken side of a medicine label: the whole label in natural Indonesian.

Numbers become words (num2words, as queue numbers do), "x" between a number and
"sehari" becomes "kali", units are said in full.

>>> from datetime import date
>>> from edge.pharmacy.label import parse_label
>>> label = parse_label({"drug": "Amoksisilin", "strength": "500 mg", "form": "tablet",
...     "dose": "3 x sehari 1 tablet", "when": ["pagi", "siang", "malam", "sesudah makan"],
...     "purpose": "infeksi", "expiry": "2027-12", "warnings": ["habiskan"],
...     "patient": "Budi"}, today=date(2026, 11, 30))
>>> print(label_sentence(label))  # doctest: +NORMALIZE_WHITESPACE
Etiket obat untuk Budi. Amoksisilin lima ratus miligram, tablet. Aturan pakai: tiga kali
sehari satu tablet, pagi, siang dan malam, sesudah makan. Untuk infeksi. Habiskan. Gunakan
sebelum akhir Desember dua ribu dua puluh tujuh.
"""

from __future__ import annotations

import re

from edge.devices.printer_layout import MONTHS_ID
from edge.pharmacy.label import MEALS, Label, Warning, last_day
from edge.speech.phrases import number_words

UNITS = {"mg": "miligram", "mcg": "mikrogram", "g": "gram", "ml": "mililiter",
         "iu": "unit internasional", "%": "persen"}
_DECIMAL = re.compile(r"(\d+)[.,](\d+)")
_INTEGER = re.compile(r"\d+")
_TIMES = re.compile(r"(?<=\d)\s*x\s*(?=\d|sehari|seminggu|sebulan)|(?<=\d)\s*x\b", re.I)
_UNIT = re.compile(r"(?<=\d)\s*(mcg|mg|ml|iu|g|%)(?![a-z])", re.I)


def say_numbers(text: str) -> str:
    """``"3 x sehari 2,5 ml"`` -> ``"tiga kali sehari dua koma lima mililiter"``."""
    text = _TIMES.sub(" kali ", text)
    text = _UNIT.sub(lambda m: " " + UNITS[m.group(1).lower()], text)
    text = _DECIMAL.sub(lambda m: f"{number_words(int(m.group(1)))} koma "
                        + " ".join(number_words(int(d)) for d in m.group(2)), text)
    text = _INTEGER.sub(lambda m: number_words(int(m.group())), text)
    return " ".join(text.split())


def _list(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " dan " + words[-1]


def _timing(label: Label) -> str:
    times = [w for w in label.when if w not in MEALS]
    meals = [w for w in label.when if w in MEALS]
    parts = ([_list(times)] if times else []) + meals
    return ", ".join(parts)


def _expiry(label: Label) -> str:
    end = last_day(label.expiry)
    month = f"{MONTHS_ID[end.month - 1]} {number_words(end.year)}"
    if len(label.expiry) > 7:
        return f"Gunakan sebelum tanggal {number_words(end.day)} {month}."
    return f"Gunakan sebelum akhir {month}."


def label_sentence(label: Label) -> str:
    """Everything the label says, as the counter speaker says it."""
    head = f"Etiket obat untuk {label.patient}." if label.patient else "Etiket obat."
    drug = say_numbers(label.drug_line) + (f", {label.form}" if label.form else "")
    dose = say_numbers(label.dose) + (f", {_timing(label)}" if label.when else "")
    parts = [head, f"{drug}.", f"Aturan pakai: {dose}."]
    if label.external:
        parts.append("Obat luar, jangan diminum.")
    if label.purpose:
        parts.append(f"Untuk {say_numbers(label.purpose)}.")
    parts += [f"{w.words.capitalize()}." for w in label.warnings if w is not Warning.OBAT_LUAR]
    if label.expiry:
        parts.append(_expiry(label))
    if label.storage:
        parts.append(f"Simpan {say_numbers(label.storage)}.")
    return " ".join(parts)
