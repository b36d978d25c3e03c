"""The label as a BRF file: Braille ASCII lines, CR LF, a form feed at the end of the page.

>>> label_brf(("Ulangi",))
',ULANGI\\r\\n\\x0c'
"""

from __future__ import annotations

from collections.abc import Sequence

from edge.braille.codec import text_to_ascii


def label_brf(lines: Sequence[str]) -> str:
    return "".join(text_to_ascii(line) + "\r\n" for line in lines) + "\f"
