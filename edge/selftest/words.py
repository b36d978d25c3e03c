"""The self-test's result in words: spoken (summary first), the report file, the event.

>>> from edge.selftest.result import Fault, fail, passed
>>> results = (passed("speaker", "speaker berfungsi"), fail(Fault.PRINTER_PAPER_OUT, "printer"))
>>> spoken_summary(results)
'Uji mandiri selesai. Satu lulus, satu gagal. Kode E dua satu: printer kertas habis.'
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from num2words import num2words

from edge.selftest.result import CheckResult, Status

STATUS_WORDS = {Status.PASS: "lulus", Status.FAIL: "gagal", Status.SKIP: "dilewati"}
REPORT_TAGS = {Status.PASS: "LULUS", Status.FAIL: "GAGAL", Status.SKIP: "LEWAT"}
LINE_END = "\r\n"  # the report opens cleanly in any laptop's text editor


def counts(results: Sequence[CheckResult]) -> dict[Status, int]:
    return {s: sum(1 for r in results if r.status is s) for s in Status}


def count_phrase(results: Sequence[CheckResult]) -> str:
    """ "Tiga lulus, satu gagal" (zero counts left out, except "nol gagal" when all pass)."""
    n = counts(results)
    parts = [f"{num2words(n[s], lang='id')} {STATUS_WORDS[s]}" for s in Status if n[s]]
    if not n[Status.FAIL]:
        parts.insert(1 if n[Status.PASS] else 0, "nol gagal")
    text = ", ".join(parts)
    return text[:1].upper() + text[1:]


def spoken_code(code: str) -> str:
    """ "E21" as espeak-ng should read it for a phone call: "E dua satu"."""
    letters = [c if c.isalpha() else num2words(int(c), lang="id") for c in code]
    return " ".join(letters)


def spoken_summary(results: Sequence[CheckResult]) -> str:
    """Summary first, then one sentence per failure with its code."""
    sentences = ["Uji mandiri selesai.", f"{count_phrase(results)}."]
    sentences += [f"Kode {spoken_code(r.code)}: {r.message}." for r in results if r.code]
    return " ".join(sentences)


def report_lines(results: Sequence[CheckResult], *, site: str, node: str,
                 at: datetime, trigger: str) -> list[str]:
    """The report as text lines: header, summary, failures with codes, then every check."""
    failures = [r for r in results if r.code]
    lines = [
        "BREXIT - hasil uji mandiri",
        f"Node: {site}/{node}",
        f"Waktu: {at.isoformat(timespec='seconds')}",
        f"Pemicu: {trigger}",
        f"Ringkasan: {count_phrase(results)}",
        "",
    ]
    if failures:
        lines += ["Kode kerusakan:"] + [f"  {r.code}: {r.message}" for r in failures] + [""]
    lines += ["Rincian:"]
    lines += [f"  [{REPORT_TAGS[r.status]}] {r.check}: {r.message}"
              + (f" (kode {r.code})" if r.code else "") for r in results]
    return lines


def report_text(lines: Sequence[str]) -> str:
    return LINE_END.join(lines) + LINE_END


def event_data(results: Sequence[CheckResult], trigger: str) -> dict[str, Any]:
    """The ``selftest`` event's ``data`` (contract/schemas/event.json)."""
    n = counts(results)
    return {
        "trigger": trigger,
        "passed": n[Status.PASS],
        "failed": n[Status.FAIL],
        "skipped": n[Status.SKIP],
        "codes": [r.code for r in results if r.code],
        "checks": [r.to_dict() for r in results],
    }
