"""Frames on the serial link (see docs/cells.md).

A frame is ``seq | type | payload | crc16`` (CRC big-endian over seq, type and payload),
COBS-encoded and sent between 0x00 delimiters.
"""

from cellfw import cobs
from cellfw.crc16 import crc16

# Message types. Host -> device.
HELLO = 0x01
SHOW = 0x02
STATUS = 0x03
# Both directions.
ACK = 0x06
# Device -> host.
NAK = 0x15
HELLO_REPLY = 0x81
STATUS_REPLY = 0x83
KEY = 0x90

# NAK reasons (first payload byte).
NAK_BAD_FRAME = 1
NAK_UNKNOWN_TYPE = 2
NAK_BAD_LENGTH = 3
NAK_NEED_HELLO = 4
NAK_VERSION = 5
NAK_HV_FAULT = 6

# Receiver results other than a good frame.
OK = 0
ERR_COBS = 1
ERR_SHORT = 2
ERR_CRC = 3
ERR_OVERFLOW = 4

MAX_PAYLOAD = 96
MAX_RAW = MAX_PAYLOAD + 4
MAX_WIRE = MAX_RAW + 2


def encode_frame(seq, kind, payload=b""):
    """The wire bytes of one frame, ending with the 0x00 delimiter."""
    raw = bytearray((seq & 0xFF, kind & 0xFF))
    raw.extend(payload)
    crc = crc16(raw)
    raw.append(crc >> 8)
    raw.append(crc & 0xFF)
    return cobs.encode(raw) + b"\x00"


def decode_frame(wire):
    """Decode one frame without its delimiter: ``(error, seq, type, payload)``."""
    try:
        raw = cobs.decode(wire)
    except ValueError:
        return (ERR_COBS, 0, 0, b"")
    if len(raw) < 4:
        return (ERR_SHORT, 0, 0, b"")
    body = raw[:-2]
    if crc16(body) != (raw[-2] << 8) | raw[-1]:
        return (ERR_CRC, 0, 0, b"")
    return (OK, body[0], body[1], bytes(body[2:]))


class Reader:
    """Splits a byte stream into frames; resynchronises on every 0x00.

    ``feed(data)`` returns a list of ``(error, seq, type, payload)``; ``error`` is OK for
    a good frame. Empty frames (two delimiters in a row) are skipped silently.
    """

    def __init__(self):
        self._buf = bytearray()
        self._overflow = False

    def feed(self, data):
        results = []
        for byte in data:
            if byte:
                self._take(byte)
                continue
            if self._overflow:
                results.append((ERR_OVERFLOW, 0, 0, b""))
            elif self._buf:
                results.append(decode_frame(bytes(self._buf)))
            self._buf = bytearray()
            self._overflow = False
        return results

    def _take(self, byte):
        if len(self._buf) >= MAX_WIRE:
            self._overflow = True
            self._buf = bytearray()
        if not self._overflow:
            self._buf.append(byte)
