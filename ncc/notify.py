"""Webhook notifications: one JSON POST per alarm opened or cleared, retried, with a
cooldown per (site, node, kind) so a flapping cause does not flood the receiver.

The sender runs on its own thread; ``notify`` never blocks the caller.

>>> Cooldown(60).allow(("janti", "kios-1", "offline"), now=0.0)
True
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from ncc.config import NotifySettings

log = logging.getLogger(__name__)

Key = tuple[str, str | None, str]


class Cooldown:
    """At most one "opened" notification per key within ``seconds``.

    >>> c = Cooldown(60)
    >>> c.allow(("s", None, "k"), now=0.0), c.allow(("s", None, "k"), now=30.0)
    (True, False)
    >>> c.allow(("s", None, "k"), now=61.0)
    True
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._last: dict[Key, float] = {}

    def allow(self, key: Key, *, now: float) -> bool:
        last = self._last.get(key)
        if last is not None and now - last < self.seconds:
            return False
        self._last[key] = now
        return True


class Notifier:
    """Posts JSON to ``settings.webhook_url``; does nothing when no URL is set."""

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings
        self._cooldown = Cooldown(settings.cooldown_s)
        self._sent_open: set[int] = set()
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.delivered = 0
        self.failed = 0

    def start(self) -> Notifier:
        if self.settings.webhook_url and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ncc-notify", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=self.settings.timeout_s * (self.settings.retries + 1))
            self._thread = None

    def alarm_opened(self, alarm: dict[str, Any], now: float) -> None:
        if not self.settings.webhook_url or alarm.get("silenced"):
            return
        key = (alarm["site"], alarm["node"], alarm["kind"])
        if self._cooldown.allow(key, now=now):
            self._sent_open.add(int(alarm["id"]))
            self._queue.put({"event": "alarm.opened", "alarm": alarm})

    def alarm_cleared(self, alarm: dict[str, Any]) -> None:
        if self.settings.webhook_url and int(alarm["id"]) in self._sent_open:
            self._sent_open.discard(int(alarm["id"]))
            self._queue.put({"event": "alarm.cleared", "alarm": alarm})

    def _run(self) -> None:
        while True:
            body = self._queue.get()
            if body is None:
                return
            self._deliver(body)

    def _deliver(self, body: dict[str, Any]) -> None:
        s = self.settings
        assert s.webhook_url is not None
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        for attempt in range(s.retries + 1):
            request = urllib.request.Request(
                s.webhook_url, data=data, method="POST",
                headers={"Content-Type": "application/json", "User-Agent": "brexit-ncc"},
            )
            try:
                with urllib.request.urlopen(request, timeout=s.timeout_s) as response:
                    if 200 <= response.status < 300:
                        self.delivered += 1
                        return
            except (urllib.error.URLError, OSError) as e:
                log.warning("webhook attempt %d failed: %s", attempt + 1, e)
            time.sleep(s.retry_delay_s * (2 ** attempt))
        self.failed += 1
        log.error("webhook: gave up on %s after %d attempts", body["event"], s.retries + 1)
