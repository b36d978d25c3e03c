"""Server-Sent Events: the monitor's change feed, one ``data:`` line per change.

The browser's ``EventSource`` reconnects by itself; a comment line every ``keepalive_s``
keeps proxies from closing an idle stream and tells us early when the client has gone.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ncc.monitor import Monitor

KEEPALIVE_S = 15.0
POLL_S = 0.5  # how soon a stream notices the server closing
RETRY_MS = 3000


def encode(change: dict[str, Any]) -> bytes:
    """One SSE message: ``data: {json}`` and a blank line."""
    return b"data: " + json.dumps(change, separators=(",", ":")).encode() + b"\n\n"


def stream(monitor: Monitor, write: Callable[[bytes], None], stop: threading.Event,
           *, keepalive_s: float = KEEPALIVE_S) -> None:
    """Copy the monitor's changes to ``write`` until ``stop`` is set or the client goes
    (``write`` raises OSError)."""
    changes: queue.Queue[dict[str, Any]] = monitor.subscribe()
    try:
        write(f"retry: {RETRY_MS}\n: connected\n\n".encode())
        last = time.monotonic()
        while not stop.is_set():
            try:
                write(encode(changes.get(timeout=POLL_S)))
                last = time.monotonic()
            except queue.Empty:
                if time.monotonic() - last >= keepalive_s:
                    write(b": keepalive\n\n")
                    last = time.monotonic()
    except OSError:
        pass  # the client went away
    finally:
        monitor.unsubscribe(changes)
