"""End to end: the host driver over a real pty to the real firmware running on CPython.
Text in, dots latched out (decoded back to text), keys back, and the link's bad days."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.braille.codec import decode, encode
from edge.cells.driver import CellsDriver, KeyPress
from edge.cells.emulate import EmulatedCells
from edge.cells.fakemachine import WDT_RESET
from edge.cells.link import Fault, ResetCause
from edge.devices.state import DeviceError, DeviceState


def eventually(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.01)


@pytest.fixture
def emu() -> Iterator[EmulatedCells]:
    with EmulatedCells(cells=8, config={"settle_ms": 0}) as cells:
        yield cells


@pytest.fixture
def driver(emu: EmulatedCells) -> Iterator[CellsDriver]:
    with CellsDriver(emu.path, cells=8, timeout_s=0.3, reconnect_s=0.05) as cells:
        assert cells.wait_ready(10)
        yield cells


@pytest.mark.parametrize("text", ["A-007", "Loket", "B-12", "Ya 3"])
def test_text_in_dots_out(emu: EmulatedCells, driver: CellsDriver, text: str) -> None:
    driver.show(text)
    assert decode(emu.dots()).rstrip() == text
    assert driver.state() == DeviceState.OK


def test_long_text_is_shown_in_pages_not_cut(emu: EmulatedCells, driver: CellsDriver) -> None:
    shown = driver.show("Nomor antrean")
    assert shown == tuple(encode("Nomor"))
    assert emu.dots()[: len(shown)] == shown
    assert driver.show("Nomor antrean", page=2) == tuple(encode("antrean"))
    with pytest.raises(ValueError, match=r"page must be 1\.\.2"):
        driver.show("Nomor antrean", page=3)


def test_clear_lowers_the_dots_and_hv(emu: EmulatedCells, driver: CellsDriver) -> None:
    driver.show_masks([0x3F] * 8)
    assert driver.status().hv_on
    driver.clear()
    assert emu.dots() == (0,) * 8
    assert not driver.status().hv_on


def test_keys_come_back_in_order(emu: EmulatedCells, driver: CellsDriver) -> None:
    for key in (3, 0, 7):
        emu.press(key)
    got = [driver.keys.get(timeout=10).key for _ in range(3)]
    assert got == [3, 0, 7]


def test_key_callback_runs_and_queue_still_fills(emu: EmulatedCells) -> None:
    seen: list[KeyPress] = []
    with CellsDriver(
        emu.path, cells=8, on_key=seen.append, timeout_s=0.3, reconnect_s=0.05
    ) as cells:
        assert cells.wait_ready(10)
        emu.press(5)
        assert cells.keys.get(timeout=10).key == 5
        assert [k.key for k in seen] == [5]


def test_status_reports_firmware_hv_and_uptime(driver: CellsDriver) -> None:
    driver.show("A")
    status = driver.status()
    assert (status.firmware, status.cells, status.ready) == ("1.0.0", 8, True)
    assert status.hv_on and status.hv_ok and 180 < status.hv_volts < 200
    assert status.reset_cause == ResetCause.POWER_ON and not status.faults


def test_garbage_towards_the_firmware_is_survived(emu: EmulatedCells, driver: CellsDriver) -> None:
    emu.inject_to_firmware(b"\x13\x37\x00\xff\xfe\xfd\x00" + b"\x05\x01\x02")  # no delimiter
    driver.show("B")  # the unterminated junk merges with this frame: NAK, then a resend
    assert decode(emu.dots()).rstrip() == "B"
    assert driver.status().bad_frames >= 2


def test_garbage_and_broken_frames_towards_the_host(
    emu: EmulatedCells, driver: CellsDriver
) -> None:
    emu.inject_to_host(b"\xaa\x55\x00\x0c\x02\x02\x20\x00\x04\x01\x01\x01\x00\x07\x07")
    driver.show("C")
    assert decode(emu.dots()).rstrip() == "C"


def test_burst_of_random_bytes(emu: EmulatedCells, driver: CellsDriver) -> None:
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        noise=st.binary(min_size=1, max_size=300), masks=st.lists(st.integers(0, 255), max_size=8)
    )
    def burst(noise: bytes, masks: list[int]) -> None:
        emu.inject_to_firmware(noise)
        emu.inject_to_host(noise[::-1])
        driver.show_masks(masks)
        assert emu.latched().masks == tuple(masks) + (0,) * (8 - len(masks))

    burst()
    emu.press(1)
    assert driver.keys.get(timeout=10).key == 1


def test_unplug_and_replug(emu: EmulatedCells, driver: CellsDriver) -> None:
    driver.show("A-1")
    emu.unplug()
    eventually(lambda: driver.state() == DeviceState.OFFLINE)
    with pytest.raises(DeviceError) as err:
        driver.show("A-2")
    assert err.value.state == DeviceState.OFFLINE
    emu.replug()  # a new pty, a fresh boot: nothing shown
    assert driver.wait_ready(10)
    eventually(lambda: decode(emu.dots()).rstrip() == "A-1")  # the driver restored it
    driver.show("A-2")
    assert decode(emu.dots()).rstrip() == "A-2"
    assert driver.state() == DeviceState.OK


def test_watchdog_reset_is_recovered() -> None:
    with (
        EmulatedCells(cells=4, config={"wdt_ms": 100}) as emu,
        CellsDriver(emu.path, cells=4, timeout_s=0.3, reconnect_s=0.05) as driver,
    ):
        assert driver.wait_ready(10)
        driver.show("D")
        emu.stall()  # the main loop hangs and stops feeding the watchdog
        assert emu.wait_booted(10)
        assert emu.board.resets == [WDT_RESET]
        assert emu.dots() == (0,) * 4  # the reset switched HV off
        status = driver.status()  # the Pico asks for a new handshake; the driver gives it
        assert status.reset_cause == ResetCause.WATCHDOG and status.faults & Fault.WDT_RESET
        assert decode(emu.dots()).rstrip() == "D"  # and the driver restored what was shown


def test_dead_hv_supply_is_an_error_state(emu: EmulatedCells, driver: CellsDriver) -> None:
    emu.board.hv_volts = 0.0
    with pytest.raises(DeviceError) as err:
        driver.show("E")
    assert err.value.state == DeviceState.ERROR
    assert driver.state() == DeviceState.ERROR
    assert emu.dots() == (0,) * 8
    emu.board.hv_volts = 190.0
    driver.show("E")
    assert driver.state() == DeviceState.OK


def test_no_device_is_offline(tmp_path: object) -> None:
    with CellsDriver("/nonexistent/cells", cells=4, timeout_s=0.3, reconnect_s=0.05) as cells:
        assert not cells.wait_ready(0.2)
        assert cells.state() == DeviceState.OFFLINE
        with pytest.raises(DeviceError) as err:
            cells.show("A")
        assert err.value.state == DeviceState.OFFLINE


def test_silent_device_times_out_and_is_offline() -> None:
    with (
        EmulatedCells(cells=4, config={"wdt_ms": 8000}) as emu,
        CellsDriver(emu.path, cells=4, timeout_s=0.3, reconnect_s=0.05) as driver,
    ):
        assert driver.wait_ready(10)
        emu.stall()  # hangs for longer than the driver waits
        with pytest.raises(DeviceError) as err:
            driver.show("F")
        assert err.value.state == DeviceState.OFFLINE
        assert driver.state() == DeviceState.OFFLINE


def test_fewer_cells_than_asked_is_refused(emu: EmulatedCells) -> None:
    with CellsDriver(emu.path, cells=20, timeout_s=0.3, reconnect_s=0.05) as cells:
        assert not cells.wait_ready(1)
        eventually(lambda: cells.state() == DeviceState.ERROR)


def test_keys_reach_a_queue_given_by_the_node(emu: EmulatedCells) -> None:
    keys: queue.Queue[KeyPress] = queue.Queue()
    with CellsDriver(emu.path, cells=8, keys=keys, timeout_s=0.3, reconnect_s=0.05) as cells:
        assert cells.wait_ready(10)
        emu.press(2)
        assert keys.get(timeout=10).key == 2
