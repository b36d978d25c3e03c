"""A paho ``Client`` for a consumer that runs its own network loop and reads in bursts.

paho 2.x reads every packet with three or four ``recv`` calls (the command byte, each
remaining-length byte, the rest) and, when the application runs the loop itself, writes
every PUBACK at once with a ``send`` of its own: four to five system calls a message.
``BurstClient`` changes only that:

- one large ``recv`` fills a buffer that paho's small reads are served from
  (``_sock_recv``), so a burst of messages costs one system call per 256 KiB;
- packets are not written the moment paho queues them (``on_socket_register_write`` is set,
  paho's documented switch for an external loop); the owner thread's next ``loop_write``
  sends everything queued meanwhile in one ``send`` (``_packet_write`` joins the run of
  packets that need nothing after their write: PUBACKs, QoS 1 publications, subscriptions).

Everything else (the protocol, TLS, keepalive, sessions, callbacks) is paho's own. The two
overridden methods are private to paho 2.1-2.2 (the range ``pyproject.toml`` pins);
``tests/test_ncc_mqttclient.py`` fails if paho stops calling them.

The owner must ``loop_write()`` whenever ``want_write()`` is true (a ``select`` on the
socket for writing does that), also after ``disconnect()``, and treat ``buffered()`` bytes as
readable: ``select`` cannot see them.

>>> c = BurstClient(CallbackAPIVersion.VERSION2, client_id="x")
>>> c.buffered(), c.want_write()
(0, False)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.client import DISCONNECT, PUBACK, PUBLISH
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion  # noqa: F401

OnBurst = Callable[[str, bytes, bool], None]

RECV_BYTES = 256 * 1024  # one read; a TLS socket returns at most one record (16 KiB) of it


def _after_write(packet: Mapping[str, Any]) -> bool:
    """Whether paho acts on this queued packet once it is written (a QoS 0 publication
    completes its ``MQTTMessageInfo``; a DISCONNECT closes the socket)."""
    kind = packet["command"] & 0xF0
    return kind == DISCONNECT or (kind == PUBLISH and packet["qos"] == 0)


class BurstClient(mqtt.Client):
    """A paho ``Client`` that reads and writes in bursts (see the module's docstring);
    ``recv_calls`` and ``send_calls`` count the system calls it made."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rbuf = b""
        self._rpos = 0
        self._rsock: object = None
        self.recv_calls = 0
        self.send_calls = 0
        self.fast_messages = 0
        self.on_socket_register_write = _nothing  # paho: "an external loop writes"
        self.on_burst: OnBurst | None = None
        self._acks: dict[str, Any] | None = None  # the queued PUBACKs still being added to

    def buffered(self) -> int:
        """Bytes read from the socket that paho has not taken yet."""
        if self._rsock is not self._sock:
            return 0
        return len(self._rbuf) - self._rpos

    def _sock_recv(self, bufsize: int) -> bytes:
        buf, pos = self._rbuf, self._rpos
        if pos >= len(buf) or self._rsock is not self._sock:
            self.recv_calls += 1
            buf = super()._sock_recv(RECV_BYTES)  # raises BlockingIOError when empty
            if not buf:
                return buf  # the peer closed the connection
            self._rbuf, self._rsock, pos = buf, self._sock, 0
        self._rpos = pos + bufsize
        return buf[pos:pos + bufsize]

    def _packet_read(self) -> MQTTErrorCode:
        if self._in_packet["command"] == 0 and self._fast() and self._read_publishes():
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        return super()._packet_read()  # another packet, or one not all read yet

    def _fast(self) -> bool:
        return (self.on_burst is not None and not self._manual_ack
                and self._protocol != MQTTProtocolVersion.MQTTv5 and self.buffered() > 0)

    def _read_publishes(self) -> int:
        """Every whole QoS 0/1 PUBLISH at the head of the buffer, to ``on_burst``; the rest
        (another packet, a part of one) is left to paho. How many there were."""
        buf, pos, end = self._rbuf, self._rpos, len(self._rbuf)
        first, count = pos, 0
        on_burst = self.on_burst
        assert on_burst is not None
        while pos < end:
            header = buf[pos]
            if header & 0xF0 != PUBLISH or header & 0x06 not in (0, 2):
                break
            found = _remaining(buf, pos + 1, end)
            if found is None or found[1] + found[0] > end:
                break  # incomplete: paho reads it (it waits for the rest)
            length, start = found
            slen = buf[start] << 8 | buf[start + 1]
            body = start + 2 + slen
            if slen == 0 or body + (2 if header & 0x06 else 0) > start + length:
                break  # malformed: paho says so
            topic = buf[start + 2:body]
            if header & 0x06:
                self._queue_puback(buf[body] << 8 | buf[body + 1])
                body += 2
            pos = start + length
            self._rpos = pos
            count += 1
            try:
                text = topic.decode("utf-8")
            except UnicodeDecodeError:
                continue  # not a topic (MQTT topics are UTF-8): acked and dropped
            on_burst(text, buf[body:pos], bool(header & 0x01))
        if pos == first:
            return 0
        self.fast_messages += count
        with self._msgtime_mutex:
            self._last_bytes_received = mqtt.time_func()
        return pos - first

    def _queue_puback(self, mid: int) -> None:
        packet = bytes((PUBACK, 2, mid >> 8, mid & 0xFF))
        out, acks = self._out_packet, self._acks
        if acks is not None and out and out[-1] is acks:
            acks["packet"] += packet
            acks["to_process"] += 4
            return
        self._acks = {"command": PUBACK, "mid": mid, "qos": 1, "pos": 0, "to_process": 4,
                      "packet": bytearray(packet), "info": None}
        out.append(self._acks)  # type: ignore[arg-type]

    def _sock_send(self, buf: bytes | bytearray) -> int:
        self.send_calls += 1
        return super()._sock_send(buf)

    def _packet_write(self) -> MQTTErrorCode:
        self._join_queued()
        return super()._packet_write()

    def _join_queued(self) -> None:
        """The leading run of queued packets that need nothing after their write, as one."""
        out = self._out_packet
        if len(out) < 2 or _after_write(out[0]) or _after_write(out[1]):
            return
        parts = []
        while out and not _after_write(out[0]):
            packet = out.popleft()
            parts.append(packet["packet"][packet["pos"]:])
        data = b"".join(parts)
        out.appendleft({"command": PUBACK, "mid": 0, "qos": 1, "pos": 0,
                        "to_process": len(data), "packet": data, "info": None})


def _remaining(buf: bytes, pos: int, end: int) -> tuple[int, int] | None:
    """(remaining length, where the packet's body starts) of the fixed header whose length
    bytes start at ``pos``; None while they are not all in ``buf``.

    >>> _remaining(bytes([0x30, 0xC1, 0x02]), 1, 3)
    (321, 3)
    """
    length, mult = 0, 1
    for i in range(pos, min(pos + 4, end)):
        length += (buf[i] & 0x7F) * mult
        if not buf[i] & 0x80:
            return length, i + 1
        mult *= 128
    return None


def _nothing(client: mqtt.Client, userdata: Any, sock: Any) -> None:
    """The owner's loop polls ``want_write()`` itself."""
