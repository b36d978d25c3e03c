"""Lines of Braille text that fit a line of ``width_cells`` cells.

Widths are measured in encoded cells, so capital, number and letter signs count.
Text is wrapped only at spaces, so a number ("A-007", "12.30") is never split.

>>> wrap("Kesehatan Ibu dan Anak", 16)
['Kesehatan Ibu', 'dan Anak']
"""

from __future__ import annotations

from collections.abc import Iterable

from edge.braille.codec import cell_count
from edge.ticket import TicketView

MAX_TICKET_LINES = 3


def wrap(text: str, width_cells: int, *, break_long_words: bool = False) -> list[str]:
    """Wrap ``text`` at spaces into lines of at most ``width_cells`` cells.

    Runs of spaces collapse to one. A word wider than the line raises ValueError, unless
    ``break_long_words`` is set and the word has no digit: then it is cut between letters.
    """
    if width_cells < 1:
        raise ValueError(f"width must be at least one cell, not {width_cells}")
    lines: list[str] = []
    line = ""
    for word in _fitting_words(text.split(), width_cells, break_long_words):
        candidate = f"{line} {word}" if line else word
        if cell_count(candidate) <= width_cells:
            line = candidate
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def _fitting_words(words: Iterable[str], width: int, break_long: bool) -> Iterable[str]:
    for word in words:
        if cell_count(word) <= width:
            yield word
        elif break_long and not any(c.isdigit() for c in word):
            yield from _break_word(word, width)
        else:
            raise ValueError(
                f"{word!r} needs {cell_count(word)} cells, more than a line of {width}"
            )


def _break_word(word: str, width: int) -> Iterable[str]:
    piece = ""
    for char in word:
        if piece and cell_count(piece + char) > width:
            yield piece
            piece = ""
        if cell_count(char) > width:
            raise ValueError(f"{char!r} does not fit a line of {width} cells")
        piece += char
    yield piece


def ticket_lines(ticket: TicketView, width_cells: int) -> list[str]:
    """At most three lines for an embossed ticket, most important first.

    1. the number ("Nomor antrean A-007", "Nomor A-007" or just "A-007");
    2. the service name, wrapped over at most two lines;
    3. if a line is left: who is ahead of you and, as width allows, the time.

    >>> from datetime import datetime
    >>> t = TicketView("A-007", "A", "Poli Umum", datetime(2026, 11, 29, 8, 5), 3, "Janti")
    >>> ticket_lines(t, 28)
    ['Nomor antrean A-007', 'Poli Umum', '3 sebelum Anda, 08.05']
    """
    lines = [_first_fitting(_number_lines(ticket.number), width_cells)]
    service = wrap(ticket.service_name, width_cells, break_long_words=True)
    lines += service[: MAX_TICKET_LINES - 1]
    if len(lines) < MAX_TICKET_LINES:
        info = _first_fitting_or_none(_info_lines(ticket), width_cells)
        if info is not None:
            lines.append(info)
    return lines


def _number_lines(number: str) -> list[str]:
    return [f"Nomor antrean {number}", f"Nomor {number}", number]


def _info_lines(ticket: TicketView) -> list[str]:
    """Candidates for the third line, most informative first."""
    if ticket.ahead == 0:
        ahead = ["Tidak ada antrean sebelum Anda", "Anda berikutnya"]
    else:
        n = ticket.ahead
        ahead = [f"{n} orang sebelum Anda", f"{n} sebelum Anda", f"Di depan: {n}"]
    time = ticket.issued_at.strftime("%H.%M")
    date_time = ticket.issued_at.strftime("%d/%m %H.%M")
    with_time = [f"{a}, {t}" for a in ahead for t in (date_time, time)]
    return [*with_time, *ahead, time]


def _first_fitting(candidates: list[str], width: int) -> str:
    found = _first_fitting_or_none(candidates, width)
    if found is None:
        raise ValueError(f"{candidates[-1]!r} does not fit a line of {width} cells")
    return found


def _first_fitting_or_none(candidates: list[str], width: int) -> str | None:
    return next((c for c in candidates if cell_count(c) <= width), None)
