"""systemd's notify protocol, stdlib only: READY, STATUS, STOPPING and watchdog pings.

A service with ``Type=notify`` tells systemd when it is ready; with ``WatchdogSec`` it
must ping at least that often or systemd kills and restarts it. Outside systemd
(``$NOTIFY_SOCKET`` unset) every call is a no-op, so the node runs the same anywhere.

>>> n = SdNotify(None)
>>> n.enabled, n.ready(), n.watchdog_interval()
(False, False, None)
>>> SdNotify.from_environment({"NOTIFY_SOCKET": "@brexit", "WATCHDOG_USEC": "20000000"}).address
'\\x00brexit'
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


class SdNotify:
    """One service's channel to systemd (``sd_notify(3)``)."""

    def __init__(self, address: str | None, watchdog_usec: int | None = None) -> None:
        self.address = address
        self._watchdog_usec = watchdog_usec
        self._failed = False

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> SdNotify:
        env = os.environ if env is None else env
        raw = env.get("NOTIFY_SOCKET") or None
        if raw is not None and raw.startswith("@"):
            raw = "\0" + raw[1:]  # an abstract socket
        return cls(raw, _watchdog_usec(env))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *assignments: str) -> bool:
        """Send ``KEY=value`` lines; False when there is no systemd or it cannot be reached."""
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
                s.sendto("\n".join(assignments).encode(), self.address)
        except OSError as e:
            if not self._failed:  # once, not on every ping
                log.error("sd_notify to %r failed: %s", self.address, e)
            self._failed = True
            return False
        self._failed = False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> bool:
        return self.send(f"STATUS={text}")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def watchdog_interval(self) -> float | None:
        """Seconds between pings (half of ``WatchdogSec``), or None without a watchdog."""
        if self.address is None or not self._watchdog_usec:
            return None
        return self._watchdog_usec / 2_000_000

    def keep_alive(self, stop: threading.Event, probe: Callable[[], object]) -> None:
        """Until ``stop`` is set: call ``probe`` (the node answering), then ping.

        A probe that hangs stops the pings, and systemd restarts the service.
        """
        interval = self.watchdog_interval()
        while not stop.wait(interval):
            probe()
            self.watchdog()


def _watchdog_usec(env: Mapping[str, str]) -> int | None:
    pid = env.get("WATCHDOG_PID")
    if pid is not None and pid.strip() != str(os.getpid()):
        return None  # meant for another process of the service
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec if usec > 0 else None
