"""The USB CDC serial port of a Pico, as seen by MicroPython: stdin and stdout, raw."""

import select
import sys


class UsbPort:
    def __init__(self):
        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)

    def read(self):
        """Bytes waiting now (waits at most 2 ms for the first one)."""
        buf = bytearray()
        while len(buf) < 256 and self._poll.poll(0 if buf else 2):
            byte = self._in.read(1)
            if not byte:
                break
            buf.extend(byte)
        return bytes(buf)

    def write(self, data):
        self._out.write(data)
