"""Text longer than the cells, cut into pages the cells show one at a time.

Pages break at spaces (``edge.braille.layout.wrap``), so a word or a number stays whole
when it fits; a word longer than the whole row is cut between cells.

>>> from edge.braille.codec import decode
>>> [decode(p) for p in pages("Sedang dilayani A-012 B-003", 12)]
['Sedang', 'dilayani', 'A-012', 'B-003']
>>> pages("", 4)
((),)
"""

from __future__ import annotations

from edge.braille.codec import Cells, encode
from edge.braille.layout import wrap


def pages(text: str, width: int) -> tuple[Cells, ...]:
    """The pages of ``text`` on ``width`` cells, at least one (raises BrailleError)."""
    cells = encode(text)
    if len(cells) <= width:
        return (cells,)
    try:
        lines = wrap(text, width, break_long_words=True)
    except ValueError:  # a word with digits wider than the row: cut it between cells
        return tuple(cells[i : i + width] for i in range(0, len(cells), width))
    return tuple(encode(line) for line in lines)
