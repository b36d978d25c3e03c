"""Indonesian Braille (Sistem Braille Indonesia, uncontracted): text <-> cells.

Cells are dot masks: bit i is dot i+1, as in Unicode U+2800 and in Metec cells.
Three spellings of the same cells: masks, Unicode Braille, North American Braille ASCII
(the BRF character set embossers accept).

Rules (see docs/braille.md):
- letters a-z as in standard literary Braille (w = 2456);
- capital sign 6 before one capital letter; 6-6 before a word of 2+ letters all in capitals
  (a "word" here is a maximal run of letters A-Z/a-z);
- number sign 3456 before a run of digits, written as the letters a-j; the run ends at any
  character that is not a digit, so "12.30" and "1/2" repeat the number sign after the
  full stop or slash, and "A-007" has one after the hyphen;
- letter sign 56 before a lower-case letter a-j that directly follows a digit ("3a");
  a capital letter after a digit needs none, the capital sign already ends the number;
- punctuation: hyphen 36, slash 34, colon 25, comma 2, full stop 256, question mark 236,
  exclamation mark 235, apostrophe 3, parentheses 2356 (both; read back alternately as
  "(" then ")", so nested parentheses do not survive a round trip);
- space is the empty cell;
- written as words or plain letters first (``writable``): ``%`` as "persen", ``&`` as
  "dan", accented Latin letters without their accents (``é`` -> ``e``), typographic
  apostrophes and dashes as ``'`` and ``-``. Any other character raises ``BrailleError``
  (a ValueError) naming it and its position in the text as given.

>>> text_to_unicode("A-007")
'⠠⠁⠤⠼⠚⠚⠛'
>>> text_to_ascii("Poli Umum")
',POLI ,UMUM'
>>> decode(encode("KIA 12.30"))
'KIA 12.30'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

Cells = tuple[int, ...]


def dots(*numbers: int) -> int:
    """The mask of a cell from its dot numbers: ``dots(1, 2) == 0b11``."""
    mask = 0
    for n in numbers:
        mask |= 1 << (n - 1)
    return mask


def _cell(spec: str) -> int:
    return dots(*(int(d) for d in spec))


_LETTER_DOTS = (
    "1 12 14 145 15 124 1245 125 24 245 13 123 134 1345 135 1234 12345 1235 234 2345"
    " 136 1236 2456 1346 13456 1356"
)
LETTERS: dict[str, int] = {
    letter: _cell(spec)
    for letter, spec in zip("abcdefghijklmnopqrstuvwxyz", _LETTER_DOTS.split(" "), strict=True)
}
DIGITS: dict[str, int] = {
    d: LETTERS[letter] for d, letter in zip("1234567890", "abcdefghij", strict=True)
}
PUNCTUATION: dict[str, int] = {
    "-": _cell("36"),
    "/": _cell("34"),
    ":": _cell("25"),
    ",": _cell("2"),
    ".": _cell("256"),
    "?": _cell("236"),
    "!": _cell("235"),
    "'": _cell("3"),
    "(": _cell("2356"),
    ")": _cell("2356"),
    " ": 0,
}
CAPITAL = _cell("6")
NUMBER = _cell("3456")
LETTER_SIGN = _cell("56")
PAREN = PUNCTUATION["("]

_LETTER_OF = {mask: letter for letter, mask in LETTERS.items()}
_DIGIT_OF = {mask: digit for digit, mask in DIGITS.items()}
_PUNCT_OF = {mask: ch for ch, mask in PUNCTUATION.items() if ch not in "()"}

ASCII_TABLE = " A1B'K2L@CIF/MSP\"E3H9O6R^DJG>NTQ,*5<-U8V.%[$+X!&;:4\\0Z7(_?W]#Y)="
_ASCII_OF = {ch: mask for mask, ch in enumerate(ASCII_TABLE)}
UNICODE_BASE = 0x2800

_TOKEN = re.compile(r"[A-Za-z]+|[0-9]+|.", re.DOTALL)


class BrailleError(ValueError):
    """Text or cells that cannot be translated; ``position`` is the offending index.

    >>> try:
    ...     encode("Rp 5€")
    ... except BrailleError as err:
    ...     (err.char, err.position)
    ('€', 4)
    """

    def __init__(self, message: str, char: str, position: int) -> None:
        super().__init__(f"{message}: {char!r} at position {position}")
        self.reason = message
        self.char = char
        self.position = position


# --- text -> writable text ------------------------------------------------------------

#: Characters written as a word (spaced from their neighbours) or as another character.
WORDS: dict[str, str] = {"%": "persen", "&": "dan"}
SAME_AS: dict[str, str] = {"\u2018": "'", "\u2019": "'", "\u2013": "-", "\u2014": "-"}
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") | set(
    PUNCTUATION
)


def _plain_letter(char: str) -> str | None:
    """``é`` -> ``e``: a Latin letter without its accents, or None."""
    base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
    return base if len(base) == 1 and base.isascii() and base.isalpha() else None


def unwritable(text: str) -> tuple[str, int] | None:
    """The first character Indonesian Braille cannot write, with its position, or None.

    >>> unwritable("Ibu & Anak 100%"), unwritable("Poli Gigi 😀")
    (None, ('😀', 10))
    """
    for i, char in enumerate(text):
        known = char in _PLAIN or char in WORDS or char in SAME_AS
        if not known and _plain_letter(char) is None:
            return char, i
    return None


def writable(text: str) -> str:
    """``text`` as Indonesian Braille writes it; raises BrailleError on what it cannot.

    >>> writable("Ibu&Anak 50% Café")
    'Ibu dan Anak 50 persen Cafe'
    """
    if all(c in _PLAIN for c in text):  # the usual case: nothing to do
        return text
    bad = unwritable(text)
    if bad is not None:
        raise BrailleError("no Indonesian Braille for character", *bad)
    out: list[str] = []
    for i, char in enumerate(text):
        if char in WORDS:
            before = " " if out and out[-1] != " " else ""
            after = " " if i + 1 < len(text) and text[i + 1] not in " .,:;!?)" else ""
            out.append(f"{before}{WORDS[char]}{after}")
        else:
            out.append(SAME_AS.get(char) or _plain_letter(char) or char)
    return "".join(out)


# --- text -> cells ---------------------------------------------------------------------


def encode(text: str) -> Cells:
    """Translate text into dot masks; raises BrailleError on a character with no Braille."""
    text = writable(text)
    cells: list[int] = []
    after_digit = False
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token[0].isdigit():
            cells.append(NUMBER)
            cells.extend(DIGITS[d] for d in token)
        elif token[0].isascii() and token[0].isalpha():
            cells.extend(_encode_word(token, after_digit))
        elif token in PUNCTUATION:
            cells.append(PUNCTUATION[token])
        else:
            raise BrailleError("no Indonesian Braille for character", token, match.start())
        after_digit = token[0].isdigit()
    return tuple(cells)


def _encode_word(word: str, after_digit: bool) -> list[int]:
    if len(word) >= 2 and word.isupper():
        return [CAPITAL, CAPITAL, *(LETTERS[c.lower()] for c in word)]
    cells: list[int] = []
    if after_digit and word[0] in "abcdefghij":
        cells.append(LETTER_SIGN)
    for c in word:
        if c.isupper():
            cells.append(CAPITAL)
        cells.append(LETTERS[c.lower()])
    return cells


# --- cells -> text ---------------------------------------------------------------------


class _Reader:
    """The state of back-translation: which indicator applies to the next cell."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.numeric = False
        self.caps_word = False
        self.cap_next = False
        self.letter_next = False
        self.open_paren = False

    def pending(self) -> bool:
        return self.cap_next or self.letter_next

    def indicator(self, cell: int, following: int | None) -> int:
        """Apply an indicator cell; returns how many cells it used."""
        self.numeric = False
        if cell == NUMBER:
            self.numeric = True
            self.caps_word = False
            return 1
        if cell == LETTER_SIGN:
            self.letter_next = True
            return 1
        if following == CAPITAL:
            self.caps_word = True
            return 2
        self.cap_next = True
        return 1

    def letter(self, cell: int) -> None:
        if self.numeric and cell in _DIGIT_OF:
            self.out.append(_DIGIT_OF[cell])
            return
        letter = _LETTER_OF[cell]
        upper = self.caps_word or self.cap_next
        self.out.append(letter.upper() if upper else letter)
        self.numeric = self.cap_next = self.letter_next = False

    def other(self, cell: int) -> None:
        self.numeric = self.caps_word = False
        if cell == PAREN:
            self.out.append(")" if self.open_paren else "(")
            self.open_paren = not self.open_paren
        else:
            self.out.append(_PUNCT_OF[cell])


def decode(masks: Iterable[int]) -> str:
    """Back-translate dot masks into text, honouring capital, number and letter signs."""
    cells = list(masks)
    reader = _Reader()
    i = 0
    while i < len(cells):
        cell = cells[i]
        following = cells[i + 1] if i + 1 < len(cells) else None
        if cell in (NUMBER, LETTER_SIGN, CAPITAL):
            if reader.pending():
                raise _cell_error("indicator must be followed by a letter", cells, i)
            if cell == NUMBER and following not in _DIGIT_OF:
                raise _cell_error("number sign must be followed by a digit", cells, i)
            i += reader.indicator(cell, following)
        elif cell in _LETTER_OF:
            reader.letter(cell)
            i += 1
        elif cell in _PUNCT_OF or cell == PAREN:
            if reader.pending():
                raise _cell_error("indicator must be followed by a letter", cells, i)
            reader.other(cell)
            i += 1
        else:
            raise _cell_error("no Indonesian Braille meaning for cell", cells, i)
    if reader.pending():
        raise _cell_error("indicator at the end of the text", cells, len(cells) - 1)
    return "".join(reader.out)


def _cell_error(message: str, cells: Sequence[int], position: int) -> BrailleError:
    return BrailleError(message, to_unicode(cells[position : position + 1]), position)


# --- masks <-> Unicode and Braille ASCII -----------------------------------------------


def _check_masks(masks: Sequence[int]) -> None:
    for i, mask in enumerate(masks):
        if not 0 <= mask < 64:
            raise BrailleError("not a six-dot cell", hex(mask), i)


def to_unicode(masks: Sequence[int]) -> str:
    """Dot masks as Unicode Braille: ``to_unicode((1, 3)) == '⠁⠃'``."""
    _check_masks(masks)
    return "".join(chr(UNICODE_BASE + m) for m in masks)


def from_unicode(s: str) -> Cells:
    """Unicode Braille (six-dot cells, U+2800-U+283F) as dot masks."""
    masks = []
    for i, ch in enumerate(s):
        mask = ord(ch) - UNICODE_BASE
        if not 0 <= mask < 64:
            raise BrailleError("not a six-dot Unicode Braille cell", ch, i)
        masks.append(mask)
    return tuple(masks)


def to_ascii(masks: Sequence[int]) -> str:
    """Dot masks as North American Braille ASCII: ``to_ascii((1, 3)) == 'AB'``."""
    _check_masks(masks)
    return "".join(ASCII_TABLE[m] for m in masks)


def from_ascii(s: str) -> Cells:
    """Braille ASCII as dot masks; lower-case letters and `{|}~ are read as their
    upper-case twins (@[\\]^), as BRF readers do."""
    masks = []
    for i, ch in enumerate(s):
        key = chr(ord(ch) - 32) if "`" <= ch <= "~" else ch
        if key not in _ASCII_OF:
            raise BrailleError("not a Braille ASCII character", ch, i)
        masks.append(_ASCII_OF[key])
    return tuple(masks)


# --- conveniences ----------------------------------------------------------------------


def text_to_unicode(text: str) -> str:
    return to_unicode(encode(text))


def text_to_ascii(text: str) -> str:
    return to_ascii(encode(text))


def unicode_to_text(s: str) -> str:
    return decode(from_unicode(s))


def ascii_to_text(s: str) -> str:
    return decode(from_ascii(s))


def back_translate(pasted: str, *, ascii: bool = False) -> str:
    """Text of Braille as people paste it: Unicode Braille (or Braille ASCII with ``ascii``)
    in lines (LF, a BRF file's CR/LF, form feeds), an ordinary space as the blank cell.

    Each line is read on its own and the lines are kept; an error names the character as
    it was typed and its position in ``pasted``.

    >>> back_translate("⠠⠁⠤⠼⠚⠚⠛ ⠠⠏⠕⠇⠊\\r\\n⠼⠉\\r\\n")
    'A-007 Poli\\n3'
    >>> back_translate(",a-#jjg\\r\\n,poli", ascii=True)
    'A-007\\nPoli'
    """
    out: list[str] = []
    offset = 0
    for raw in pasted.splitlines(keepends=True):
        line = raw.rstrip("\r\n\f\v")
        out.append(_back_line(line, offset, ascii))
        offset += len(raw)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def _back_line(line: str, offset: int, ascii: bool) -> str:
    spelled = from_ascii if ascii else from_unicode
    masks: list[int] = []
    for i, char in enumerate(line):
        try:
            masks.append(0 if char == " " else spelled(char)[0])
        except BrailleError as err:
            raise BrailleError(err.reason, char, offset + i) from None
    try:
        return decode(masks)
    except BrailleError as err:
        raise BrailleError(err.reason, line[err.position], offset + err.position) from None


def cell_count(text: str) -> int:
    """How many cells ``text`` takes, signs included: ``cell_count("A-007") == 7``."""
    return len(encode(text))
