"""The cell controller's serial link, host side: COBS, CRC-16/CCITT-FALSE, frames.

Pure functions and values; the firmware has its own copy (firmware/cellfw/link.py) and
both are tested against firmware/vectors/link_vectors.json. See docs/cells.md.

>>> frame = Frame(seq=1, kind=MsgType.HELLO, payload=b"\\x01")
>>> decode_frame(encode_frame(frame)[:-1]) == frame
True
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum, IntFlag

PROTOCOL = 1
MAX_PAYLOAD = 96
MAX_WIRE = MAX_PAYLOAD + 4 + 2


class MsgType(IntEnum):
    HELLO = 0x01
    SHOW = 0x02
    STATUS = 0x03
    ACK = 0x06
    NAK = 0x15
    HELLO_REPLY = 0x81
    STATUS_REPLY = 0x83
    KEY = 0x90


class NakReason(IntEnum):
    BAD_FRAME = 1
    UNKNOWN_TYPE = 2
    BAD_LENGTH = 3
    NEED_HELLO = 4
    VERSION = 5
    HV_FAULT = 6
    UNKNOWN = 0xFF


class Fault(IntFlag):
    HV_LOW = 0x0001
    HV_HIGH = 0x0002
    WDT_RESET = 0x0004


HV_FAULTS = Fault.HV_LOW | Fault.HV_HIGH


class FrameError(ValueError):
    """A frame that cannot be used: bad COBS, too short, CRC mismatch, or overflow."""


@dataclass(frozen=True)
class Frame:
    """One decoded frame. ``kind`` is a raw int when the type is unknown."""

    seq: int
    kind: int
    payload: bytes = b""


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF). ``crc16(b"123456789") == 0x29B1``."""
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def cobs_encode(data: bytes) -> bytes:
    """COBS-encode ``data``; the result contains no 0x00."""
    out = bytearray(1)
    code_at, code = 0, 1
    for i, byte in enumerate(data):
        if byte:
            out.append(byte)
            code += 1
            if code < 0xFF:
                continue
            if i == len(data) - 1:
                break
        out[code_at] = code
        code, code_at = 1, len(out)
        out.append(0)
    out[code_at] = code
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Invert ``cobs_encode``; raise FrameError on an invalid encoding."""
    out = bytearray()
    i = 0
    while i < len(data):
        code = data[i]
        end = i + code
        if code == 0 or end > len(data) or 0 in data[i + 1 : end]:
            raise FrameError("bad COBS encoding")
        out += data[i + 1 : end]
        i = end
        if code < 0xFF and i < len(data):
            out.append(0)
    return bytes(out)


def encode_frame(frame: Frame) -> bytes:
    """Wire bytes of ``frame``, ending with the 0x00 delimiter."""
    body = bytes((frame.seq & 0xFF, frame.kind & 0xFF)) + frame.payload
    return cobs_encode(body + crc16(body).to_bytes(2, "big")) + b"\x00"


def decode_frame(wire: bytes) -> Frame:
    """Decode one frame given without delimiters; raise FrameError if unusable."""
    raw = cobs_decode(wire)
    if len(raw) < 4:
        raise FrameError("frame too short")
    body, crc = raw[:-2], int.from_bytes(raw[-2:], "big")
    if crc16(body) != crc:
        raise FrameError("CRC mismatch")
    kind: int = MsgType(body[1]) if body[1] in MsgType._value2member_map_ else body[1]
    return Frame(seq=body[0], kind=kind, payload=bytes(body[2:]))


class FrameReader:
    """Splits a byte stream into frames, resynchronising at every 0x00.

    >>> FrameReader().feed(b"junk\\x00" + encode_frame(Frame(7, MsgType.ACK)))
    [FrameError('bad COBS encoding'), Frame(seq=7, kind=<MsgType.ACK: 6>, payload=b'')]
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._overflow = False

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        results: list[Frame | FrameError] = []
        for byte in data:
            if byte:
                self._take(byte)
                continue
            if self._overflow:
                results.append(FrameError("frame too long"))
            elif self._buf:
                results.append(_try_decode(bytes(self._buf)))
            self._buf.clear()
            self._overflow = False
        return results

    def _take(self, byte: int) -> None:
        if len(self._buf) >= MAX_WIRE:
            self._overflow = True
            self._buf.clear()
        if not self._overflow:
            self._buf.append(byte)


def _try_decode(wire: bytes) -> Frame | FrameError:
    try:
        return decode_frame(wire)
    except FrameError as exc:
        return exc


@dataclass(frozen=True)
class Hello:
    """The firmware's answer to HELLO."""

    protocol: int
    cells: int
    firmware: str


def parse_hello(payload: bytes) -> Hello:
    if len(payload) < 2:
        raise FrameError("short HELLO reply")
    return Hello(payload[0], payload[1], payload[2:].decode("ascii", "replace"))


class ResetCause(IntEnum):
    """``machine.reset_cause()`` values of MicroPython on the RP2040."""

    POWER_ON = 1
    WATCHDOG = 3
    UNKNOWN = 0


STATUS_FORMAT = ">BHIHBBH"
_FLAG_HV_ON, _FLAG_HV_OK, _FLAG_READY = 0x01, 0x02, 0x04


@dataclass(frozen=True)
class CellsStatus:
    """Firmware status: HV, faults, uptime, reset cause, version.

    >>> s = parse_status(bytes.fromhex("03000000000007076f010c0000") + b"1.0.0")
    >>> (s.hv_on, s.hv_volts, s.uptime_s, s.firmware)
    (True, 190.3, 7, '1.0.0')
    """

    hv_on: bool
    hv_ok: bool
    ready: bool
    faults: Fault
    uptime_s: int
    hv_volts: float
    reset_cause: ResetCause
    cells: int
    bad_frames: int
    firmware: str


def parse_status(payload: bytes) -> CellsStatus:
    size = struct.calcsize(STATUS_FORMAT)
    if len(payload) < size:
        raise FrameError("short STATUS reply")
    flags, faults, uptime, decivolts, cause, cells, bad = struct.unpack(
        STATUS_FORMAT, payload[:size]
    )
    return CellsStatus(
        hv_on=bool(flags & _FLAG_HV_ON),
        hv_ok=bool(flags & _FLAG_HV_OK),
        ready=bool(flags & _FLAG_READY),
        faults=Fault(faults),
        uptime_s=uptime,
        hv_volts=decivolts / 10,
        reset_cause=ResetCause(cause) if cause in (1, 3) else ResetCause.UNKNOWN,
        cells=cells,
        bad_frames=bad,
        firmware=payload[size:].decode("ascii", "replace"),
    )


def nak_reason(payload: bytes) -> NakReason:
    if payload and payload[0] in NakReason._value2member_map_:
        return NakReason(payload[0])
    return NakReason.UNKNOWN
