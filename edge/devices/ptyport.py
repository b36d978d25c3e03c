"""The far end of a serial line, for emulators: a real pty whose slave path a driver opens.

The driver cannot tell an emulator from a device: it opens ``port.path`` with pyserial's
``serial_for_url`` exactly as it would open ``/dev/ttyUSB0``.

>>> received = []
>>> with PtyPort(lambda data: received.append(data) or None) as port:
...     import serial
...     with serial.serial_for_url(port.path, timeout=1) as s:
...         _ = s.write(b"hi")
...     port.wait_idle()
>>> b"".join(received)
b'hi'
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import time
import tty
from collections.abc import Callable

from edge.closing import Closing

log = logging.getLogger(__name__)

Handler = Callable[[bytes], bytes | None]


class PtyPort(Closing):
    """Owns a pty pair; one thread reads what the driver writes and feeds ``handler``.

    ``handler(data)`` returns bytes to send back to the driver, or None.
    Fault switches for tests: ``paused`` (stop reading, so the driver's writes block and
    time out, as with a device that hangs) and ``send(data)`` (unsolicited bytes).
    """

    def __init__(self, handler: Handler, *, name: str = "pty") -> None:
        self._handler = handler
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        tty.setraw(self._slave)
        self.path: str = os.ttyname(self._slave)
        self.paused = threading.Event()
        self._stop = threading.Event()
        self._last_rx = time.monotonic()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"{name}-emulator", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.paused.is_set():
                time.sleep(0.01)
                continue
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready or self.paused.is_set():  # paused while waiting: leave it unread
                continue
            try:
                data = os.read(self._master, 4096)
            except OSError:  # slave side closed and no reader: wait for a reopen
                time.sleep(0.01)
                continue
            if data:
                self._last_rx = time.monotonic()
                self._handle(data)

    def _handle(self, data: bytes) -> None:
        try:
            reply = self._handler(data)
        except Exception:  # an emulator bug must not kill the line: log it, keep reading
            log.exception("%s: handler failed", self._thread.name)
            return
        if reply:
            self.send(reply)

    def send(self, data: bytes) -> None:
        """Write bytes towards the driver."""
        with self._lock:
            os.write(self._master, data)

    def wait_idle(self, quiet_s: float = 0.1, timeout_s: float = 5.0) -> None:
        """Block until nothing has arrived for ``quiet_s`` (the driver has finished)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            quiet = time.monotonic() - self._last_rx >= quiet_s
            if quiet and not self.paused.is_set() and not self._pending():
                return
            time.sleep(quiet_s / 4)

    def _pending(self) -> bool:
        """Bytes from the driver that the emulator thread has not read yet."""
        try:
            ready, _, _ = select.select([self._master], [], [], 0)
        except (OSError, ValueError):
            return False
        return bool(ready)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

