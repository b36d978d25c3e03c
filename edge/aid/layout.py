"""Where the answers of a question sit on the cells, page by page.

The question and its answers are shown as one text, ``"<question>: <a1> <a2> <a3>"``, cut
into pages exactly as ``edge.cells.pages`` cuts it; an answer is chosen by a routing key
under any of its cells on the page that shows it.

>>> text = question_text("Sudah makan?", ("Ya", "Tidak", "Ulangi"))
>>> text
'Sudah makan?: Ya Tidak Ulangi'
>>> answer_spans(text, 3, 40)
{0: ((15, 18, 0), (19, 25, 1), (26, 33, 2))}
>>> answer_spans(text, 3, 12)
{1: ((8, 11, 0),), 2: ((0, 6, 1),), 3: ((0, 7, 2),)}
"""

from __future__ import annotations

from collections.abc import Sequence

from edge.braille.codec import cell_count
from edge.braille.layout import wrap

Span = tuple[int, int, int]  # first cell, end cell (exclusive), answer index


def question_text(question: str, answers: Sequence[str]) -> str:
    question = " ".join(question.split())
    return f"{question}: {' '.join(answers)}" if answers else question


def _lines(text: str, width: int) -> list[str]:
    if cell_count(text) <= width:
        return [text]
    return wrap(text, width, break_long_words=True)


def answer_spans(text: str, answers: int, width: int) -> dict[int, tuple[Span, ...]]:
    """Page -> the answers on it as (first cell, end cell, answer index); raises
    ValueError when the text cannot be cut at spaces (a number wider than the cells)."""
    spans: dict[int, list[Span]] = {}
    left = answers
    lines = _lines(text, width)
    for page in range(len(lines) - 1, -1, -1):
        words = lines[page].split(" ")
        for k in range(len(words) - 1, -1, -1):
            if left == 0:
                break
            start = cell_count(" ".join(words[:k])) + (1 if k else 0)
            left -= 1
            spans.setdefault(page, []).insert(0, (start, start + cell_count(words[k]), left))
    return {page: tuple(found) for page, found in sorted(spans.items())}
