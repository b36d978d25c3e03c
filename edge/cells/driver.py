"""Host driver of the Braille cell controller (firmware/cellfw) over USB serial.

One thread owns the port: it connects and handshakes, sends each request and waits for its
reply (with timeout and retries), acknowledges key presses and queues them, sends a status
heartbeat when idle, and reconnects to the same URL after the Pico is unplugged. Callers
block on ``show``/``status`` and get ``DeviceError`` when the cells cannot do it.

>>> from edge.cells.emulate import EmulatedCells
>>> with EmulatedCells(cells=4) as emu, CellsDriver(emu.path, cells=4) as cells:
...     cells.wait_ready(5)
...     cells.show_masks([1, 3, 0, 0])
...     emu.dots()
True
(1, 3, 0, 0)
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import serial

from edge.cells.link import (
    HV_FAULTS,
    PROTOCOL,
    CellsStatus,
    Frame,
    FrameError,
    FrameReader,
    Hello,
    MsgType,
    NakReason,
    encode_frame,
    nak_reason,
    parse_hello,
    parse_status,
)
from edge.closing import Closing
from edge.devices.state import DeviceError, DeviceState

log = logging.getLogger(__name__)
_POLL_S = 0.02


@dataclass(frozen=True)
class KeyPress:
    """A routing key pressed on the cells; ``key`` is the 0-based cell index."""

    key: int
    at: float = field(default_factory=time.monotonic)


class _NoReply(Exception):
    pass


class _NeedHello(Exception):
    pass


@dataclass
class _Request:
    kind: MsgType
    payload: bytes
    done: threading.Event = field(default_factory=threading.Event)
    reply: Frame | None = None
    error: DeviceError | None = None


class _Session:
    """An open port after a good handshake: framing, sequence numbers, key acks."""

    def __init__(
        self, port: serial.SerialBase, on_key: Callable[[int], None], timeout_s: float, retries: int
    ) -> None:
        self.port = port
        self._reader = FrameReader()
        self._on_key = on_key
        self._timeout_s = timeout_s
        self._retries = retries
        self._seq = 0
        self._key_seq: int | None = None
        self.hello: Hello | None = None

    def exchange(self, kind: MsgType, payload: bytes = b"") -> Frame:
        """Send one request and return its reply (ACK, NAK or data); retry on silence."""
        self._seq = self._seq % 255 + 1
        request = encode_frame(Frame(self._seq, kind, payload))
        for _ in range(self._retries + 1):
            self.port.write(b"\x00" + request)
            reply = self._await_reply(time.monotonic() + self._timeout_s)
            if reply is not None:
                return reply
        raise _NoReply(f"no reply to {kind.name} after {self._retries + 1} tries")

    def pump(self) -> None:
        """Read what is there (up to one poll interval); handle key presses."""
        for item in self._read():
            if isinstance(item, Frame):
                self._unsolicited(item)

    def _await_reply(self, deadline: float) -> Frame | None:
        while time.monotonic() < deadline:
            for item in self._read():
                if isinstance(item, FrameError):
                    continue
                if item.kind == MsgType.NAK and nak_reason(item.payload) == NakReason.BAD_FRAME:
                    return None  # our frame arrived damaged: send it again now
                if item.seq == self._seq and item.kind != MsgType.KEY:
                    return item
                self._unsolicited(item)
        return None

    def _read(self) -> list[Frame | FrameError]:
        data = self.port.read(max(1, self.port.in_waiting))
        return self._reader.feed(data) if data else []

    def _unsolicited(self, frame: Frame) -> None:
        if frame.kind != MsgType.KEY or not frame.payload:
            return
        self.port.write(b"\x00" + encode_frame(Frame(frame.seq, MsgType.ACK)))
        if frame.seq != self._key_seq:  # not a resend of the last one
            self._key_seq = frame.seq
            self._on_key(frame.payload[0])


class CellsDriver(Closing):
    """Refreshable Braille cells on the controller at ``url`` (a pyserial URL).

    ``cells`` is how many cells the node uses (the controller must have at least as many);
    None takes the controller's own count from its HELLO reply.

    Key presses go to ``keys`` (a ``queue.Queue[KeyPress]``) and, if given, to
    ``on_key(KeyPress)``, which runs on the port's thread and must not do I/O.

    >>> cells = CellsDriver("/dev/serial/by-id/usb-MicroPython_Board_in_FS_mode_e66-if00",
    ...                     cells=12)  # doctest: +SKIP
    >>> cells.show("A-007")  # doctest: +SKIP
    """

    def __init__(
        self,
        url: str,
        *,
        cells: int | None,
        timeout_s: float = 0.5,
        retries: int = 3,
        reconnect_s: float = 1.0,
        heartbeat_s: float = 2.0,
        keys: queue.Queue[KeyPress] | None = None,
        on_key: Callable[[KeyPress], None] | None = None,
    ) -> None:
        self.url = url
        self.cells: int | None = cells
        self._fixed_cells = cells is not None
        self.keys: queue.Queue[KeyPress] = keys if keys is not None else queue.Queue()
        self._on_key = on_key
        self._timeout_s = timeout_s
        self._retries = retries
        self._reconnect_s = reconnect_s
        self._heartbeat_s = heartbeat_s
        self._requests: queue.Queue[_Request] = queue.Queue()
        self._state = DeviceState.OFFLINE
        self._ready = threading.Event()
        self._closing = threading.Event()
        self._shown: bytes | None = None
        self.hello: Hello | None = None
        self.last_error = ""  # why the last connection attempt failed
        self._thread = threading.Thread(target=self._run, name="cells-port", daemon=True)
        self._thread.start()

    # --- public, called from any thread ------------------------------------------------

    def show(self, text: str, page: int = 1) -> tuple[int, ...]:
        """Show page ``page`` (from 1) of ``text`` in Indonesian Braille (``edge.cells.pages``:
        text longer than the cells is cut into pages at spaces); return its masks."""
        from edge.cells.pages import pages

        cut = pages(text, self._width())
        if not 1 <= page <= len(cut):
            raise ValueError(f"page must be 1..{len(cut)}, not {page}")
        self.show_masks(cut[page - 1])
        return cut[page - 1]

    def show_masks(self, masks: Sequence[int]) -> None:
        """Raise exactly these dots (bit i = dot i+1); missing cells are blank."""
        width = self._width()
        if len(masks) > width or any(not 0 <= m <= 0xFF for m in masks):
            raise ValueError(f"need at most {width} masks of 0..255")
        payload = bytes(masks) + bytes(width - len(masks))
        self._call(MsgType.SHOW, payload)

    def _width(self) -> int:
        if self.cells is None:
            raise DeviceError(f"cells not connected at {self.url}", DeviceState.OFFLINE)
        return self.cells

    def clear(self) -> None:
        """Lower every dot (the firmware then switches HV off)."""
        self.show_masks([])

    def status(self) -> CellsStatus:
        return parse_status(self._call(MsgType.STATUS).payload)

    def state(self) -> DeviceState:
        return self._state

    def wait_ready(self, timeout_s: float) -> bool:
        """Block until connected and handshaken; False on timeout."""
        return self._ready.wait(timeout_s)

    def close(self) -> None:
        self._closing.set()
        self._thread.join(timeout=5)

    # --- the port's thread ---------------------------------------------------------------

    def _call(self, kind: MsgType, payload: bytes = b"") -> Frame:
        if self._closing.is_set():
            raise DeviceError("cells driver closed", DeviceState.DISABLED)
        if not self._ready.is_set():
            state = DeviceState.ERROR if self._state == DeviceState.ERROR else DeviceState.OFFLINE
            raise DeviceError(f"cells not connected at {self.url}", state)
        request = _Request(kind, payload)
        self._requests.put(request)
        limit = (self._timeout_s * (self._retries + 1)) * 3 + 5
        if not request.done.wait(limit):
            raise DeviceError("cells driver did not answer", DeviceState.ERROR)
        if request.error is not None:
            raise request.error
        assert request.reply is not None
        return request.reply

    def _run(self) -> None:
        while not self._closing.is_set():
            session = self._connect()
            if session is None:
                self._closing.wait(self._reconnect_s)
                continue
            try:
                self._serve(session)
            except (serial.SerialException, OSError, _NoReply) as exc:
                log.warning("cells at %s lost: %s", self.url, exc)
            finally:
                self._disconnect(session)

    def _connect(self) -> _Session | None:
        try:
            port = serial.serial_for_url(self.url, baudrate=115200, timeout=_POLL_S)
        except (serial.SerialException, OSError) as exc:
            self._state = DeviceState.OFFLINE
            self.last_error = f"cannot open: {exc}"
            return None
        session = _Session(port, self._key, self._timeout_s, self._retries)
        try:
            self._handshake(session)
        except (serial.SerialException, OSError, _NoReply, DeviceError) as exc:
            if str(exc) != self.last_error:  # once per change, not every reconnect
                log.warning("cells at %s: handshake failed: %s", self.url, exc)
            self.last_error = str(exc)
            if not isinstance(exc, DeviceError):
                self._state = DeviceState.OFFLINE
            port.close()
            return None
        self._ready.set()
        return session

    def _handshake(self, session: _Session) -> None:
        reply = session.exchange(MsgType.HELLO, bytes((PROTOCOL,)))
        if reply.kind != MsgType.HELLO_REPLY:
            self._state = DeviceState.ERROR
            raise DeviceError(f"firmware refused protocol {PROTOCOL}: {reply}")
        hello = parse_hello(reply.payload)
        if hello.protocol != PROTOCOL or (self._fixed_cells and hello.cells < (self.cells or 0)):
            self._state = DeviceState.ERROR
            raise DeviceError(
                f"the controller has {hello.cells} cells (firmware {hello.firmware}, protocol "
                f"{hello.protocol}); this node is set up for {self.cells}"
            )
        if not self._fixed_cells:
            self.cells = hello.cells
        self.hello = session.hello = hello
        self._state = DeviceState.OK
        if self._shown is not None:  # a replugged or reset Pico shows nothing: restore
            try:
                self._check(session.exchange(MsgType.SHOW, self._shown), MsgType.ACK)
            except DeviceError as exc:
                log.warning("cells at %s: cannot restore the display: %s", self.url, exc)

    def _serve(self, session: _Session) -> None:
        idle_since = time.monotonic()
        while not self._closing.is_set():
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                session.pump()
                if time.monotonic() - idle_since > self._heartbeat_s:
                    self._heartbeat(session)
                    idle_since = time.monotonic()
                continue
            self._execute(session, request)
            idle_since = time.monotonic()

    def _execute(self, session: _Session, request: _Request) -> None:
        try:
            try:
                request.reply = self._attempt(session, request)
            except _NeedHello:  # the Pico was reset (watchdog, power): handshake, then redo
                self._handshake(session)
                request.reply = self._attempt(session, request)
        except DeviceError as exc:
            request.error = exc
        except (serial.SerialException, OSError, _NoReply, _NeedHello) as exc:
            self._state = DeviceState.OFFLINE
            request.error = DeviceError(f"cells lost: {exc}", DeviceState.OFFLINE)
            raise
        finally:
            request.done.set()

    def _attempt(self, session: _Session, request: _Request) -> Frame:
        expected = MsgType.STATUS_REPLY if request.kind == MsgType.STATUS else MsgType.ACK
        reply = self._check(session.exchange(request.kind, request.payload), expected)
        if request.kind == MsgType.SHOW:
            self._shown = request.payload
            self._state = DeviceState.OK
        elif request.kind == MsgType.STATUS:
            self._note_status(parse_status(reply.payload))
        return reply

    def _check(self, reply: Frame, expected: MsgType) -> Frame:
        if reply.kind == expected:
            return reply
        reason = nak_reason(reply.payload) if reply.kind == MsgType.NAK else None
        if reason == NakReason.NEED_HELLO:
            raise _NeedHello()
        self._state = DeviceState.ERROR
        name = reason.name if reason else f"type {reply.kind:#x}"
        raise DeviceError(f"cells refused: {name}", DeviceState.ERROR)

    def _heartbeat(self, session: _Session) -> None:
        request = _Request(MsgType.STATUS, b"")
        self._execute(session, request)

    def _note_status(self, status: CellsStatus) -> None:
        self._state = DeviceState.ERROR if status.faults & HV_FAULTS else DeviceState.OK

    def _key(self, key: int) -> None:
        press = KeyPress(key)
        self.keys.put(press)
        if self._on_key is not None:
            self._on_key(press)

    def _disconnect(self, session: _Session) -> None:
        self._ready.clear()
        if not self._closing.is_set():
            self._state = DeviceState.OFFLINE
        self._fail_pending()
        with contextlib.suppress(serial.SerialException, OSError):
            session.port.close()

    def _fail_pending(self) -> None:
        while True:
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                return
            request.error = DeviceError("cells disconnected", DeviceState.OFFLINE)
            request.done.set()

