"""The node's cells: pages for long text, staff messages that stay, on emulated cells."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from edge.braille.codec import BrailleError, decode, encode
from edge.cells.display import CellsDisplay
from edge.cells.emulate import EmulatedCells
from edge.cells.pages import pages


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("A-001", 8, ["A-001"]),
        ("Sedang dilayani A-012", 8, ["Sedang", "dilayani", "A-012"]),
        ("tunggu 5 menit", 8, ["tunggu", "5 menit"]),
        ("Kesehatan", 4, ["Kes", "ehat", "an"]),  # the capital sign takes a cell
        ("", 8, [""]),
    ],
)
def test_pages_break_at_spaces(text: str, width: int, expected: list[str]) -> None:
    cut = pages(text, width)
    assert [decode(page) for page in cut] == expected
    assert all(len(page) <= width for page in cut)


def test_a_long_number_is_cut_between_cells() -> None:
    cut = pages("12345678", 4)
    assert [len(p) for p in cut] == [4, 4, 1]
    assert sum(cut, ()) == encode("12345678")


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture
def cells() -> Iterator[tuple[EmulatedCells, CellsDisplay]]:
    with EmulatedCells(cells=8) as emu:
        display = CellsDisplay(emu.path, cells=8, message_s=0.3)
        yield emu, display
        display.close()


def shows(emu: EmulatedCells, text: str) -> Callable[[], bool]:
    return lambda: decode(emu.dots()).rstrip() == text


def test_the_last_key_pans_a_long_text(cells: tuple[EmulatedCells, CellsDisplay]) -> None:
    emu, display = cells
    display.show("Sedang dilayani A-012", spoken="Sedang dilayani A dua belas.")
    assert wait_until(shows(emu, "Sedang"))
    assert display.page == (1, 3)
    assert not display.pan(0)  # another key: the node speaks instead
    assert display.pan(7)
    assert wait_until(shows(emu, "dilayani"))
    assert display.pan(7) and display.pan(7)  # past the last page: the first again
    assert wait_until(shows(emu, "Sedang"))
    assert display.spoken == "Sedang dilayani A dua belas."


def test_a_short_text_does_not_pan(cells: tuple[EmulatedCells, CellsDisplay]) -> None:
    _, display = cells
    display.show("A-001")
    assert not display.pan(7)


def test_a_message_stays_over_show_then_expires(
    cells: tuple[EmulatedCells, CellsDisplay],
) -> None:
    emu, display = cells
    display.show("A-001")
    display.show_message("tutup")
    assert wait_until(shows(emu, "tutup"))
    display.show("A-002")  # the idle refresh, while the message is up
    assert display.drain()
    assert decode(emu.dots()).rstrip() == "tutup"
    assert wait_until(shows(emu, "A-002"))  # message_s later, what show asked for
    assert display.message is None


def test_a_message_the_cells_cannot_write_is_refused_at_once(
    cells: tuple[EmulatedCells, CellsDisplay],
) -> None:
    _, display = cells
    with pytest.raises(BrailleError):
        display.show_message("😀")
    assert display.message is None


def test_a_long_message_says_how_many_pages(cells: tuple[EmulatedCells, CellsDisplay]) -> None:
    emu, display = cells
    assert display.show_message("loket tutup pukul 12") == 4  # loket, tutup, pukul, 12
    assert wait_until(shows(emu, "loket"))
    assert display.show_message("") == 1  # cleared
