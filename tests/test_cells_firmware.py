"""The firmware (cellfw) on CPython with the fake ``machine``: what it drives on the pins,
decoded back into dots by the fake cells' shift registers, and what it answers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from edge.braille.codec import decode, encode
from edge.cells import link
from edge.cells.emulate import load_firmware
from edge.cells.fakemachine import WDT_RESET, Board, CellChain, FakeMachine, SystemReset

cellfw = load_firmware()


class Wire:
    """The firmware's serial port in a test: we push frames, it writes replies."""

    def __init__(self) -> None:
        self.inbox = bytearray()
        self.reader = link.FrameReader()
        self.replies: list[link.Frame] = []

    def read(self) -> bytes:
        data, self.inbox = bytes(self.inbox), bytearray()
        return data

    def write(self, data: bytes) -> None:
        self.replies += [f for f in self.reader.feed(data) if isinstance(f, link.Frame)]


class Pico:
    """One board, its decoded cell chain, and the firmware stepped by hand."""

    def __init__(self, cells: int = 4, **config: Any) -> None:
        self.cfg = cellfw.config.merged({"cells": cells, **config})
        self.board = Board()
        self.chain = CellChain(self.board, cells)
        self.wire = Wire()
        self.fw = cellfw.runner.Firmware(FakeMachine(self.board), self.cfg, self.wire)

    def send(self, seq: int, kind: int, payload: bytes = b"") -> link.Frame:
        self.wire.inbox += link.encode_frame(link.Frame(seq, kind, payload))
        before = len(self.wire.replies)
        self.fw.step()
        assert len(self.wire.replies) == before + 1
        return self.wire.replies[-1]

    def hello(self) -> link.Frame:
        return self.send(1, link.MsgType.HELLO, bytes((link.PROTOCOL,)))

    def step_until(self, condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < deadline, "firmware did not get there"
            self.fw.step()


@pytest.fixture
def pico() -> Iterator[Pico]:
    yield Pico(cells=4, settle_ms=0)


def strobe_times(pico: Pico) -> list[float]:
    """Records when each STROBE pulse rises."""
    times: list[float] = []

    def spy(pin: int, level: int) -> None:
        if pin == pico.cfg["pin_strobe"] and level:
            times.append(time.monotonic())

    pico.board.listen(spy)
    return times


def nak(frame: link.Frame) -> link.NakReason:
    assert frame.kind == link.MsgType.NAK
    return link.nak_reason(frame.payload)


def test_boot_lowers_every_dot_with_hv_off(pico: Pico) -> None:
    assert pico.chain.latched.masks == (0, 0, 0, 0)
    assert pico.board.level(pico.cfg["pin_hv_en"]) == 0


def test_hello_reports_protocol_cells_and_version(pico: Pico) -> None:
    hello = link.parse_hello(pico.hello().payload)
    assert hello == link.Hello(link.PROTOCOL, 4, cellfw.VERSION)


def test_commands_before_hello_are_refused(pico: Pico) -> None:
    assert nak(pico.send(5, link.MsgType.SHOW, b"\x01")) == link.NakReason.NEED_HELLO
    assert pico.chain.latched.masks == (0, 0, 0, 0)


def test_wrong_protocol_version_is_refused(pico: Pico) -> None:
    assert nak(pico.send(1, link.MsgType.HELLO, b"\x09")) == link.NakReason.VERSION


@pytest.mark.parametrize("text", ["A-007", "ya", "B 12", "3"])
def test_show_latches_the_braille_of_the_text(text: str) -> None:
    pico = Pico(cells=8, settle_ms=0)
    pico.hello()
    masks = bytes(encode(text))
    assert pico.send(2, link.MsgType.SHOW, masks).kind == link.MsgType.ACK
    assert pico.chain.latched.hv_on
    assert decode(pico.chain.dots()).rstrip() == text


@pytest.mark.parametrize(
    ("masks", "bits"),
    [
        # The raw shift order: last cell first, dot 8 first; 0 raises a dot.
        (b"\x01\x00", "11111111" + "11111110"),
        (b"\x00\x80", "01111111" + "11111111"),
        (b"\xff\x3f", "11000000" + "00000000"),
    ],
)
def test_bits_are_shifted_inverted_last_cell_first(masks: bytes, bits: str) -> None:
    pico = Pico(cells=2, settle_ms=0)
    shifted: list[int] = []
    clk, din, strobe = pico.cfg["pin_clk"], pico.cfg["pin_din"], pico.cfg["pin_strobe"]
    strobes: list[int] = []

    def spy(pin: int, level: int) -> None:
        if pin == clk and level:
            shifted.append(pico.board.level(din))
        elif pin == strobe and level:
            strobes.append(len(shifted))

    pico.board.listen(spy)
    pico.hello()
    pico.send(2, link.MsgType.SHOW, masks)
    assert "".join(map(str, shifted)) == bits
    assert strobes == [16]  # one STROBE, after the whole chain


def test_blank_switches_hv_off_and_dots_fall(pico: Pico) -> None:
    pico.hello()
    pico.send(2, link.MsgType.SHOW, b"\x01\x02")
    assert pico.board.level(pico.cfg["pin_hv_en"]) == 1
    pico.send(3, link.MsgType.SHOW, b"")
    assert pico.board.level(pico.cfg["pin_hv_en"]) == 0
    assert pico.chain.dots() == (0, 0, 0, 0)


def test_settle_time_separates_refreshes() -> None:
    pico = Pico(cells=2, settle_ms=40)
    latches = strobe_times(pico)
    pico.hello()
    pico.send(2, link.MsgType.SHOW, b"\x01")
    pico.send(3, link.MsgType.SHOW, b"\x02")
    assert latches[1] - latches[0] >= 0.040
    assert pico.chain.dots() == (2, 0)


def test_dead_hv_supply_is_a_fault_and_dots_stay_down(pico: Pico) -> None:
    pico.hello()
    pico.board.hv_volts = 0.0
    assert nak(pico.send(2, link.MsgType.SHOW, b"\x3f")) == link.NakReason.HV_FAULT
    assert pico.board.level(pico.cfg["pin_hv_en"]) == 0
    status = link.parse_status(pico.send(3, link.MsgType.STATUS).payload)
    assert status.faults == link.Fault.HV_LOW and not status.hv_ok and not status.hv_on
    pico.board.hv_volts = 192.0
    assert pico.send(4, link.MsgType.SHOW, b"\x3f").kind == link.MsgType.ACK
    status = link.parse_status(pico.send(5, link.MsgType.STATUS).payload)
    assert status.hv_ok and status.hv_on and 185 < status.hv_volts < 200


def test_hv_failing_while_shown_drops_the_dots() -> None:
    pico = Pico(cells=2, settle_ms=0, hv_check_ms=0)
    pico.hello()
    pico.send(2, link.MsgType.SHOW, b"\x07")
    pico.board.hv_volts = 260.0
    pico.fw.step()
    assert pico.board.level(pico.cfg["pin_hv_en"]) == 0
    status = link.parse_status(pico.send(3, link.MsgType.STATUS).payload)
    assert status.faults == link.Fault.HV_HIGH


def test_too_many_cells_and_unknown_types_are_refused(pico: Pico) -> None:
    pico.hello()
    assert nak(pico.send(2, link.MsgType.SHOW, bytes(5))) == link.NakReason.BAD_LENGTH
    assert nak(pico.send(3, 0x42)) == link.NakReason.UNKNOWN_TYPE


def test_corrupt_frame_is_nakked_and_counted(pico: Pico) -> None:
    pico.hello()
    wire = bytearray(link.encode_frame(link.Frame(2, link.MsgType.SHOW, b"\x01")))
    wire[3] ^= 0xFF
    pico.wire.inbox += wire
    pico.fw.step()
    assert nak(pico.wire.replies[-1]) == link.NakReason.BAD_FRAME
    assert pico.chain.dots() == (0, 0, 0, 0)
    assert link.parse_status(pico.send(3, link.MsgType.STATUS).payload).bad_frames == 1


def test_a_retried_sequence_number_is_answered_not_redone(pico: Pico) -> None:
    pico.hello()
    latches = strobe_times(pico)
    first = pico.send(7, link.MsgType.SHOW, b"\x05")
    again = pico.send(7, link.MsgType.SHOW, b"\x05")
    assert first == again and len(latches) == 1


def test_key_press_is_debounced_reported_and_resent_until_acked() -> None:
    pico = Pico(cells=3, key_retry_ms=0, key_tries=3)
    pico.hello()
    pin = pico.cfg["key_pins"][2]
    for level in (0, 1, 0, 1, 0):  # contact chatter, shorter than the debounce time
        pico.board.drive(pin, level)
        pico.fw.step()
    pico.step_until(lambda: pico.fw.keys.down[2])
    pico.board.drive(pin, None)
    pico.step_until(lambda: not pico.fw.keys.down[2])
    keys = [f for f in pico.wire.replies if f.kind == link.MsgType.KEY]
    assert [k.payload for k in keys] == [b"\x02"] * 3  # one press, resent until tries run out
    assert len({k.seq for k in keys}) == 1


def test_acked_key_is_not_resent() -> None:
    pico = Pico(cells=3, key_retry_ms=0, key_tries=5)
    pico.hello()
    pico.board.drive(pico.cfg["key_pins"][0], 0)
    pico.step_until(lambda: any(f.kind == link.MsgType.KEY for f in pico.wire.replies))
    key = pico.wire.replies[-1]
    pico.wire.inbox += link.encode_frame(link.Frame(key.seq, link.MsgType.ACK))
    pico.fw.step()
    count = len(pico.wire.replies)
    for _ in range(10):
        pico.fw.step()
    assert len(pico.wire.replies) == count


def test_watchdog_resets_a_firmware_that_stops_feeding() -> None:
    pico = Pico(cells=2, wdt_ms=30)
    pico.hello()
    pico.send(2, link.MsgType.SHOW, b"\x01")
    time.sleep(0.06)  # the main loop is stuck: no feed for twice the timeout
    with pytest.raises(SystemReset):
        pico.fw.step()
    assert pico.board.resets == [WDT_RESET]
    assert pico.chain.dots() == (0, 0)  # reset released HV enable: the dots fell
    rebooted = cellfw.runner.Firmware(FakeMachine(pico.board), pico.cfg, pico.wire)
    assert rebooted.device.faults() & link.Fault.WDT_RESET
    assert rebooted.device.reset_cause == WDT_RESET


def test_status_reports_uptime_and_version(pico: Pico) -> None:
    pico.hello()
    status = link.parse_status(pico.send(2, link.MsgType.STATUS).payload)
    assert (status.firmware, status.cells, status.ready) == (cellfw.VERSION, 4, True)
    assert status.reset_cause == link.ResetCause.POWER_ON
    assert status.uptime_s == pico.fw.device.uptime_s()


def test_a_burst_of_200_show_frames_keeps_the_watchdog_fed() -> None:
    # Each SHOW waits for the previous refresh to settle; 200 of them in one read take
    # 200 * settle_ms (5 s), five times the watchdog's timeout, yet the firmware is not
    # hung. The fake watchdog runs on real time: a timeout far above a busy machine's
    # scheduling pauses keeps the test about the firmware, not about the load.
    pico = Pico(cells=4, settle_ms=25, wdt_ms=1000)
    pico.hello()
    frames = [(seq % 255 + 1, bytes((seq % 63 + 1, 0, 0, 0))) for seq in range(1, 201)]
    pico.wire.inbox += b"".join(
        link.encode_frame(link.Frame(seq, link.MsgType.SHOW, masks)) for seq, masks in frames
    )
    pico.fw.step()
    pico.fw.step()
    acks = [f for f in pico.wire.replies[1:] if f.kind == link.MsgType.ACK]
    assert len(acks) == 200
    assert pico.board.resets == []
    assert pico.chain.dots() == tuple(frames[-1][1])
