"""The protocol end in the firmware: frames in, cells and keys, replies out."""

import struct

from cellfw import PROTOCOL, VERSION, clock, link
from cellfw.chain import FAULT_WDT_RESET

FLAG_HV_ON = 0x01
FLAG_HV_OK = 0x02
FLAG_READY = 0x04
STATUS_FORMAT = ">BHIHBBH"  # flags, faults, uptime_s, hv_decivolts, reset, cells, bad frames


class Device:
    """Handles each frame from the host; ``tick()`` scans keys and resends unacked ones."""

    def __init__(self, chain, keys, cfg, write, reset_cause=0, wdt_reset=False):
        self.chain = chain
        self.keys = keys
        self._cfg = cfg
        self._write = write
        self._reader = link.Reader()
        self.reset_cause = reset_cause
        self.boot_faults = FAULT_WDT_RESET if wdt_reset else 0
        self.ready = False  # set by HELLO
        self.bad_frames = 0
        self._last_seq = -1
        self._last_reply = b""
        self._key_seq = 0
        self._outbox = []  # [seq, key, due_ms, tries left]
        self._uptime_ms = 0
        self._ticked = clock.ticks_ms()

    def on_bytes(self, data):
        for result in self._reader.feed(data):
            self._on_frame(result)

    def tick(self):
        now = clock.ticks_ms()
        self._uptime_ms += clock.ticks_diff(now, self._ticked)
        self._ticked = now
        self.chain.watch()
        for key in self.keys.scan():
            self._queue_key(key, now)
        self._resend_keys(now)

    def uptime_s(self):
        return self._uptime_ms // 1000

    def faults(self):
        return self.chain.faults | self.boot_faults

    def _on_frame(self, result):
        error, seq, kind, payload = result
        if error:
            self.bad_frames += 1
            self._send(0, link.NAK, bytes((link.NAK_BAD_FRAME,)))
        elif kind == link.ACK:
            self._outbox = [k for k in self._outbox if k[0] != seq]
        elif kind == link.HELLO:
            self._hello(seq, payload)
        elif not self.ready:
            self._send(seq, link.NAK, bytes((link.NAK_NEED_HELLO,)))
        elif seq == self._last_seq:  # the host retried: our reply was lost
            self._write(self._last_reply)
        else:
            self._last_seq = seq
            self._last_reply = self._send(seq, *self._command(kind, payload))

    def _hello(self, seq, payload):
        if len(payload) != 1 or payload[0] != PROTOCOL:
            self._send(seq, link.NAK, bytes((link.NAK_VERSION, PROTOCOL)))
            return
        self.ready = True
        self._last_seq = -1
        self._outbox = []
        reply = bytes((PROTOCOL, self.chain.n)) + VERSION.encode()
        self._send(seq, link.HELLO_REPLY, reply)

    def _command(self, kind, payload):
        if kind == link.SHOW:
            if len(payload) > self.chain.n:
                return link.NAK, bytes((link.NAK_BAD_LENGTH,))
            if not self.chain.show(payload):
                return link.NAK, bytes((link.NAK_HV_FAULT,))
            return link.ACK, b""
        if kind == link.STATUS:
            return link.STATUS_REPLY, self._status()
        return link.NAK, bytes((link.NAK_UNKNOWN_TYPE,))

    def _status(self):
        chain = self.chain
        flags = FLAG_READY if self.ready else 0
        if chain.hv_on:
            flags |= FLAG_HV_ON
        if not chain.faults:
            flags |= FLAG_HV_OK
        volts = int(chain.hv_volts() * 10) if chain.hv_on else 0
        head = struct.pack(
            STATUS_FORMAT,
            flags,
            self.faults(),
            self.uptime_s(),
            volts,
            self.reset_cause,
            chain.n,
            min(self.bad_frames, 0xFFFF),
        )
        return head + VERSION.encode()

    def _queue_key(self, key, now):
        if not self.ready:
            return
        self._key_seq = (self._key_seq + 1) & 0xFF
        self._outbox.append([self._key_seq, key, now, self._cfg["key_tries"]])

    def _resend_keys(self, now):
        for item in self._outbox:
            if clock.ticks_diff(now, item[2]) >= 0:
                self._send(item[0], link.KEY, bytes((item[1],)))
                item[2] = clock.ticks_add(now, self._cfg["key_retry_ms"])
                item[3] -= 1
        self._outbox = [k for k in self._outbox if k[3] > 0]

    def _send(self, seq, kind, payload):
        wire = b"\x00" + link.encode_frame(seq, kind, payload)
        self._write(wire)
        return wire
