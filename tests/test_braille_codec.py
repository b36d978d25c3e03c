"""Indonesian Braille codec: known cells from tables, round trips from hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.braille import codec
from edge.braille.codec import (
    BrailleError,
    decode,
    dots,
    encode,
    from_ascii,
    from_unicode,
    text_to_ascii,
    text_to_unicode,
    to_ascii,
    to_unicode,
)


def cells(*specs: str) -> tuple[int, ...]:
    """Cells written as dot numbers, "0" for the empty cell: cells("6", "1") is ",A"."""
    return tuple(0 if s == "0" else dots(*(int(d) for d in s)) for s in specs)


def spelled(spec: str) -> tuple[int, ...]:
    """Cells from one string of dot numbers: spelled("6 1") == cells("6", "1")."""
    return cells(*spec.split())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a", cells("1")),
        ("w", cells("2456")),
        ("z", cells("1356")),
        ("A", cells("6", "1")),
        ("A-007", cells("6", "1", "36", "3456", "245", "245", "1245")),
        ("Poli Umum", cells("6", "1234", "135", "123", "24", "0", "6", "136", "134", "136", "134")),
        ("KIA", cells("6", "6", "13", "24", "1")),
        ("12", cells("3456", "1", "12")),
        ("3a", cells("3456", "14", "56", "1")),
        ("3k", cells("3456", "14", "13")),
        ("3A", cells("3456", "14", "6", "1")),
        ("loket 2", cells("123", "135", "13", "15", "2345", "0", "3456", "12")),
        ("12.30", cells("3456", "1", "12", "256", "3456", "14", "245")),
        ("1/2", cells("3456", "1", "34", "3456", "12")),
        ("08:05", cells("3456", "245", "125", "25", "3456", "245", "15")),
        ("ya, tidak? ya!", spelled("13456 1 2 0 2345 24 145 1 13 236 0 13456 1 235")),
        ("(obat)", cells("2356", "135", "12", "1", "2345", "2356")),
        ("Jum'at", cells("6", "245", "136", "134", "3", "1", "2345")),
        ("McD", cells("6", "134", "14", "6", "145")),
    ],
)
def test_encode_known_cells(text: str, expected: tuple[int, ...]) -> None:
    assert encode(text) == expected
    assert decode(expected) == text


@pytest.mark.parametrize(
    ("text", "unicode", "ascii"),
    [
        ("A-007", "⠠⠁⠤⠼⠚⠚⠛", ",A-#JJG"),
        ("Poli Umum", "⠠⠏⠕⠇⠊⠀⠠⠥⠍⠥⠍", ",POLI ,UMUM"),
        ("KIA", "⠠⠠⠅⠊⠁", ",,KIA"),
        ("12", "⠼⠁⠃", "#AB"),
        ("3a", "⠼⠉⠰⠁", "#C;A"),
        ("loket 2", "⠇⠕⠅⠑⠞⠀⠼⠃", "LOKET #B"),
        ("12.30", "⠼⠁⠃⠲⠼⠉⠚", "#AB4#CJ"),
        ("Silakan!", "⠠⠎⠊⠇⠁⠅⠁⠝⠖", ",SILAKAN6"),
    ],
)
def test_unicode_and_ascii_spellings(text: str, unicode: str, ascii: str) -> None:
    assert text_to_unicode(text) == unicode
    assert text_to_ascii(text) == ascii
    assert codec.unicode_to_text(unicode) == text
    assert codec.ascii_to_text(ascii) == text


def test_ascii_table_is_the_north_american_one() -> None:
    assert len(codec.ASCII_TABLE) == 64 == len(set(codec.ASCII_TABLE))
    assert to_ascii(cells("1", "12", "2456", "3456", "6", "0")) == "ABW#, "
    assert from_ascii("abw") == from_ascii("ABW")  # BRF files may be lower case


def test_every_sign_has_its_own_cell() -> None:
    signs = [*codec.LETTERS.values(), codec.CAPITAL, codec.NUMBER, codec.LETTER_SIGN]
    signs += [m for ch, m in codec.PUNCTUATION.items() if ch != ")"]
    assert len(signs) == len(set(signs))


@pytest.mark.parametrize(
    ("text", "char", "position"),
    [
        ("Rp 5€", "€", 4), ("ß", "ß", 0), ("a\nb", "\n", 1), ('say "hi"', '"', 4),
        ("a;b", ";", 1), ("Poli & Gigi 😀", "😀", 12), ("Café ø", "ø", 5),
    ],
)
def test_unsupported_character_is_named_with_its_position(
    text: str, char: str, position: int
) -> None:
    with pytest.raises(BrailleError) as err:
        encode(text)
    assert (err.value.char, err.value.position) == (char, position)
    assert isinstance(err.value, ValueError)
    assert repr(char) in str(err.value)


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("Ibu & Anak", "Ibu dan Anak"),
        ("Ibu&Anak", "Ibu dan Anak"),
        ("KIA&KB", "KIA dan KB"),
        ("Diskon 50%", "Diskon 50 persen"),
        ("50%, lalu", "50 persen, lalu"),
        ("Café Gizi", "Cafe Gizi"),
        ("ÉLAN ü", "ELAN u"),
        ("Jum\u2019at 08\u201312", "Jum'at 08-12"),
        ("Poli Umum", "Poli Umum"),
    ],
)
def test_what_can_be_written_is_written(text: str, written: str) -> None:
    assert codec.writable(text) == written
    assert encode(text) == encode(written)
    assert codec.unwritable(text) is None


@pytest.mark.parametrize(
    ("pasted", "ascii", "text"),
    [
        ("⠠⠁⠤⠼⠚⠚⠛ ⠠⠏⠕⠇⠊", False, "A-007 Poli"),  # an ordinary space between cells
        ("⠠⠁⠤⠼⠚⠚⠛\n⠠⠏⠕⠇⠊\n", False, "A-007\nPoli"),
        (",A-#JJG\r\n,POLI ,UMUM\r\n\f", True, "A-007\nPoli Umum"),  # a BRF file
        (",a-#jjg\r,poli", True, "A-007\nPoli"),
        ("\n\n", False, ""),
    ],
)
def test_back_translate_reads_pasted_cells(pasted: str, ascii: bool, text: str) -> None:
    assert codec.back_translate(pasted, ascii=ascii) == text


@pytest.mark.parametrize(
    ("pasted", "ascii", "char", "position"),
    [
        (",#", True, "#", 1),  # the character as typed, not its Unicode cell
        (",A\r\n,a#k", True, "#", 6),
        ("⠠⠁x", False, "x", 2),
        ("⠁\t⠁", False, "\t", 1),
        ("A-007", False, "A", 0),
    ],
)
def test_back_translate_errors_show_the_character_as_typed(
    pasted: str, ascii: bool, char: str, position: int
) -> None:
    with pytest.raises(BrailleError) as err:
        codec.back_translate(pasted, ascii=ascii)
    assert (err.value.char, err.value.position) == (char, position)


@pytest.mark.parametrize(
    ("braille", "position"),
    [
        ("⠼⠅", 0),  # number sign then a letter that is not a digit
        ("⠼", 0),  # number sign at the end
        ("⠠⠀", 1),  # capital sign then a space
        ("⠰⠲", 1),  # letter sign then a full stop
        ("⠁⠠", 1),  # capital sign at the end
        ("⠁⠿", 1),  # dots 123456: no meaning here
    ],
)
def test_malformed_cells_are_rejected(braille: str, position: int) -> None:
    with pytest.raises(BrailleError) as err:
        decode(from_unicode(braille))
    assert err.value.position == position


@pytest.mark.parametrize("bad", ["⡀", "A", "⣿"])
def test_from_unicode_accepts_only_six_dot_cells(bad: str) -> None:
    with pytest.raises(BrailleError):
        from_unicode(bad)


def test_from_ascii_rejects_non_braille_ascii() -> None:
    with pytest.raises(BrailleError) as err:
        from_ascii("AB\tC")
    assert err.value.position == 2


def test_masks_out_of_range_are_rejected() -> None:
    with pytest.raises(BrailleError):
        to_unicode((64,))
    with pytest.raises(BrailleError):
        to_ascii((-1,))


def test_letter_sign_before_any_letter_is_read() -> None:
    assert decode(from_ascii("#C;K")) == "3k"


# --- properties ------------------------------------------------------------------------

ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -/:,.?!'"


def _alternate_parens(parts: list[str]) -> str:
    """Join parts, wrapping every other one in parentheses: only unnested pairs round-trip."""
    return "".join(f"({p})" if i % 2 else p for i, p in enumerate(parts))


texts = st.lists(st.text(alphabet=ALPHABET, max_size=12), max_size=5).map(_alternate_parens)


@given(texts)
def test_text_round_trips_through_every_spelling(text: str) -> None:
    masks = encode(text)
    assert decode(masks) == text
    assert from_unicode(to_unicode(masks)) == masks
    assert from_ascii(to_ascii(masks)) == masks
    assert codec.ascii_to_text(text_to_ascii(text)) == text


@given(texts)
def test_encoding_is_canonical(text: str) -> None:
    masks = encode(text)
    assert encode(decode(masks)) == masks


@given(st.lists(st.integers(min_value=0, max_value=63)))
def test_any_mask_sequence_survives_unicode_and_ascii(masks: list[int]) -> None:
    assert from_unicode(to_unicode(masks)) == tuple(masks)
    assert from_ascii(to_ascii(masks)) == tuple(masks)


@given(st.text(alphabet=ALPHABET, max_size=30))
def test_cell_count_counts_signs(text: str) -> None:
    words = text.split(" ")
    assert codec.cell_count(text) == sum(len(encode(w)) for w in words) + len(words) - 1
