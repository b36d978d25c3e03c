"""The Braille side of a medicine label: at most four lines, chosen by priority.

Uncontracted Indonesian Braille with a number sign on every number (``edge.braille``);
capital signs are left out (every cell on a 19-cell label is needed for the medicine).
Never shrunk or contracted to fit: each part has a full wording and shorter wordings,
and when the label is too small a lower-priority part is shortened first, then left out
(the ink label and the speech still carry everything). Priority:

1. drug and strength (always; a label whose drug does not fit is refused);
2. dose and frequency ("3 x sehari 1 tablet", short "3 x 1 tablet");
3. timing ("pagi siang malam sesudah makan", short "sesudah makan"), or "obat luar";
4. ED and HABISKAN / KOCOK DAHULU ("ed 12-2027 habiskan", short: the warning, then the ED).

>>> from datetime import date
>>> from edge.pharmacy.label import parse_label
>>> label = parse_label({"drug": "Amoksisilin", "strength": "500 mg",
...     "dose": "3 x sehari 1 tablet", "when": ["sesudah makan"], "expiry": "2027-12",
...     "warnings": ["habiskan"]}, today=date(2026, 11, 30))
>>> braille_label(label, 28).lines
('amoksisilin 500 mg', '3 x sehari 1 tablet', 'sesudah makan', 'ed 12-2027 habiskan')
>>> braille_label(label, 19).lines
('amoksisilin 500 mg', '3 x 1 tablet', 'sesudah makan', 'habiskan')
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from edge.braille.layout import wrap
from edge.pharmacy.label import MEALS, Label, LabelError, Warning

MAX_LINES = 4
MIN_WIDTH = 10
PART_NAMES = ("drug", "dose", "timing", "expiry")
_PER_DAY = re.compile(r"(\d+)\s*x\s*sehari\s+(.+)")


@dataclass(frozen=True)
class BrailleLabel:
    """The lines to emboss, and the parts shortened or left out (by name)."""

    lines: tuple[str, ...]
    shortened: tuple[str, ...] = ()
    omitted: tuple[str, ...] = ()


def _drug(label: Label) -> list[str]:
    return [label.drug_line]


def _dose(label: Label) -> list[str]:
    match = _PER_DAY.fullmatch(label.dose)
    short = f"{match.group(1)} x {match.group(2)}" if match else None
    return [label.dose] + ([short] if short else [])


def _timing(label: Label) -> list[str]:
    when = " ".join(label.when)
    meals = " ".join(w for w in label.when if w in MEALS)
    if label.external:
        return [f"obat luar {when}".strip(), "obat luar"]
    return [c for c in (when, meals) if c]


def _expiry(label: Label) -> list[str]:
    warn = " ".join(w.words for w in label.warnings
                    if w in (Warning.HABISKAN, Warning.KOCOK_DAHULU))
    ed = f"ed {label.expiry_text}" if label.expiry else ""
    return [c for c in (f"{ed} {warn}".strip(), warn, ed) if c]


def _wordings(label: Label) -> list[list[str]]:
    parts = [_drug(label), _dose(label), _timing(label), _expiry(label)]
    return [list(dict.fromkeys(c.lower() for c in part)) for part in parts]


def _wrapped(text: str, width: int) -> list[str] | None:
    try:
        return wrap(text, width, break_long_words=True)
    except ValueError:  # a number wider than the line
        return None


def braille_label(label: Label, width: int, max_lines: int = MAX_LINES) -> BrailleLabel:
    """The label's Braille lines for ``width`` cells; raises LabelError if the drug and
    strength alone do not fit."""
    if width < MIN_WIDTH:
        raise LabelError("width", f"label Braille minimal {MIN_WIDTH} sel, bukan {width}")
    options: list[list[tuple[int, list[str]]]] = []
    for part in _wordings(label):
        fitting = [(i, lines) for i, text in enumerate(part)
                   if (lines := _wrapped(text, width)) is not None]
        options.append([*fitting, (len(part), [])] if part else [(0, [])])
    best = min(
        (combo for combo in itertools.product(*options)
         if sum(len(lines) for _, lines in combo) <= max_lines and combo[0][1]),
        key=lambda combo: ([not lines for _, lines in combo], [i for i, _ in combo]),
        default=None,
    )
    if best is None:
        raise LabelError(
            "drug", f"nama dan kekuatan obat tidak muat dalam {max_lines} baris {width} sel"
        )
    wordings = _wordings(label)
    shortened = tuple(name for name, (i, lines), part in zip(PART_NAMES, best, wordings,
                                                              strict=True) if lines and i > 0)
    omitted = tuple(name for name, (_, lines), part in zip(PART_NAMES, best, wordings,
                                                            strict=True) if part and not lines)
    return BrailleLabel(tuple(line for _, lines in best for line in lines), shortened, omitted)
