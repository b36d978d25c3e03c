"""Checks of the node's devices: speaker, buttons, printer, embosser, cells.

Each check talks to its device through a ``Rig`` (``edge.selftest.rig``), which owns the
drivers (or, inside a running node, hands the job to the device's own worker thread), and
returns ``CheckResult``s. The jobs below run on the thread that owns the driver.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from edge.braille.codec import text_to_ascii
from edge.cells.driver import CellsDriver
from edge.config import NodeConfig
from edge.devices.embosser import FORM_FEED, LINE_END, Embosser
from edge.devices.printer import TicketPrinter
from edge.devices.state import DeviceError, DeviceState
from edge.labels.buttons import ButtonLabel
from edge.selftest.result import CheckResult, Fault, fail, passed, skipped

R = TypeVar("R")
FULL_CELL_ASCII = "="  # Braille ASCII of the cell with all six dots
CELL_PATTERN = (0x09, 0x12, 0x24)  # dots 1-4, 2-5, 3-6: one row at a time, repeated
TEST_TEXT = "uji embosser"


@dataclass(frozen=True)
class Press:
    """What happened while waiting for one button."""

    pressed: bool
    others: tuple[str, ...] = ()  # other buttons pressed meanwhile


class Rig(Protocol):
    """The node's devices as the self-test reaches them."""

    config: NodeConfig

    def say(self, text: str) -> bool:
        """Say ``text`` and wait until it is said; False when the speaker failed."""
        ...

    def open_buttons(self, buttons: Iterable[ButtonLabel]) -> str | None:
        """Open the buttons' pins; the reason when they cannot be opened."""
        ...

    def wait_press(self, button: str, timeout_s: float) -> Press: ...

    def with_printer(self, job: Callable[[TicketPrinter], R]) -> R | None:
        """Run ``job`` on the printer's owning thread; None when no printer is fitted.
        Raises DeviceError when the job could not run (the device cannot be opened)."""
        ...

    def with_embosser(self, job: Callable[[Embosser], R]) -> R | None: ...

    def with_cells(self, job: Callable[[CellsDriver], R]) -> R | None: ...


# --- speaker and buttons -----------------------------------------------------------------

def speaker_check(rig: Rig) -> CheckResult:
    if not rig.config.speaker.enabled:
        return skipped("speaker", "speaker tidak dipakai")
    if rig.say("Uji mandiri dimulai. Jika suara ini terdengar, speaker berfungsi."):
        return passed("speaker", "speaker berfungsi")
    return fail(Fault.SPEAKER, "speaker")


def button_checks(
    rig: Rig, buttons: Sequence[ButtonLabel], timeout_s: float
) -> list[CheckResult]:
    """Ask for each button in turn. When nobody presses anything at the first prompt, no
    technician is there (a first boot left alone): every button is skipped, not failed;
    the summary still says how many were skipped."""
    if not buttons:
        return []
    error = rig.open_buttons(buttons)
    if error is not None:
        return [fail(Fault.BUTTON, "buttons", "pin GPIO tombol tidak dapat dibuka")]
    results: list[CheckResult] = []
    attended = False
    for i, label in enumerate(buttons):
        if i > 0 and not attended:
            results.append(unattended(label))
            continue
        rig.say(f"Tekan tombol {label.text}.")
        press = rig.wait_press(label.button, timeout_s)
        attended = attended or press.pressed or bool(press.others)
        results.append(button_result(label, press) if attended else unattended(label))
    return results


def unattended(label: ButtonLabel) -> CheckResult:
    return skipped(f"button:{label.button}",
                   f"tombol {label.text} tidak diuji: tidak ada tombol yang ditekan")


def button_result(label: ButtonLabel, press: Press) -> CheckResult:
    check = f"button:{label.button}"
    if press.pressed:
        return passed(check, f"tombol {label.text} berfungsi")
    return fail(Fault.BUTTON, check, f"tombol {label.text} tidak terdeteksi")


# --- printer --------------------------------------------------------------------------------

def sample_ticket_lines(config: NodeConfig, now: datetime) -> list[str]:
    return [config.site_name, f"Node {config.node}", now.strftime("%d-%m-%Y %H:%M"),
            "Printer berfungsi."]


def printer_job(lines: Sequence[str]) -> Callable[[TicketPrinter], CheckResult]:
    """Paper sensor first, then a test ticket."""

    def job(printer: TicketPrinter) -> CheckResult:
        state = printer.check()
        if state is not DeviceState.OK:
            return _printer_fault(state)
        try:
            printer.print_text_lines(lines, title="TIKET UJI")
        except DeviceError as e:
            return _printer_fault(e.state) if e.state is DeviceState.PAPER_OUT else fail(
                Fault.PRINTER_JOB, "printer")
        if printer.paper_near_end:
            return passed("printer", "printer mencetak tiket uji; kertas hampir habis")
        return passed("printer", "printer mencetak tiket uji")

    return job


def _printer_fault(state: DeviceState) -> CheckResult:
    if state is DeviceState.PAPER_OUT:
        return fail(Fault.PRINTER_PAPER_OUT, "printer")
    return fail(Fault.PRINTER_OFFLINE, "printer")


def printer_check(rig: Rig, now: datetime) -> CheckResult:
    if not rig.config.printer.enabled:
        return skipped("printer", "printer tidak dipasang")
    try:
        result = rig.with_printer(printer_job(sample_ticket_lines(rig.config, now)))
    except DeviceError:
        return fail(Fault.PRINTER_OFFLINE, "printer")
    return result or skipped("printer", "printer tidak dipasang")


# --- embosser -------------------------------------------------------------------------------

def embosser_test_page(width_cells: int) -> bytes:
    """A page with the words "uji embosser" and a line of full cells (every pin used)."""
    lines = [text_to_ascii(TEST_TEXT), FULL_CELL_ASCII * width_cells]
    return b"".join(line.encode("ascii") + LINE_END for line in lines) + FORM_FEED


def embosser_job(width_cells: int) -> Callable[[Embosser], CheckResult]:
    def job(embosser: Embosser) -> CheckResult:
        state = embosser.state()  # opens the port and asks the device (ENQ)
        port = embosser.port
        if state is not DeviceState.OK or port is None:
            return _embosser_fault(state)
        try:  # the test page is raw Braille ASCII: a full cell has no text to translate
            port.write(embosser_test_page(width_cells))
            port.flush()
        except OSError:
            return fail(Fault.EMBOSSER_OFFLINE, "embosser")
        return passed("embosser", "embosser mencetak baris uji")

    return job


def _embosser_fault(state: DeviceState) -> CheckResult:
    if state is DeviceState.PAPER_OUT:
        return fail(Fault.EMBOSSER_PAPER_OUT, "embosser")
    if state is DeviceState.ERROR:
        return fail(Fault.EMBOSSER_ERROR, "embosser")
    return fail(Fault.EMBOSSER_OFFLINE, "embosser")


def embosser_check(rig: Rig) -> CheckResult:
    if not rig.config.embosser.enabled:
        return skipped("embosser", "embosser tidak dipasang")
    try:
        result = rig.with_embosser(embosser_job(rig.config.embosser.width))
    except DeviceError:
        return fail(Fault.EMBOSSER_OFFLINE, "embosser")
    return result or skipped("embosser", "embosser tidak dipasang")


# --- cells ----------------------------------------------------------------------------------

def cell_pattern(cells: int) -> tuple[int, ...]:
    """Dots 1-4, 2-5, 3-6, 1-4, …: each row of pins in turn."""
    return tuple(CELL_PATTERN[i % len(CELL_PATTERN)] for i in range(cells))


def cells_job(cells: int, ready_s: float) -> Callable[[CellsDriver], CheckResult]:
    def job(driver: CellsDriver) -> CheckResult:
        if not driver.wait_ready(ready_s):
            return fail(Fault.CELLS_OFFLINE, "cells")
        width = driver.cells or cells  # the controller says how many it drives
        try:
            driver.show_masks([0x3F] * width)
            driver.show_masks(cell_pattern(width))
        except DeviceError:
            return fail(Fault.CELLS_SHOW, "cells")
        return passed("cells", "sel Braille menampilkan semua titik dan pola")

    return job


def cells_check(rig: Rig, ready_s: float = 5.0) -> CheckResult:
    if not rig.config.cells.enabled:
        return skipped("cells", "sel Braille tidak dipasang")
    try:
        result = rig.with_cells(cells_job(rig.config.cells.width, ready_s))
    except DeviceError:
        return fail(Fault.CELLS_OFFLINE, "cells")
    return result or skipped("cells", "sel Braille tidak dipasang")
