"""The one thread that sends pending BPJS calls, in order, until each is answered.

A BPJS outage never blocks the queue: calls wait in the database (``bpjs_request``) and
are retried with backoff. A refusal (code 201 or another definitive code) is recorded,
said to the staff (``on_refused``), and raised to the NCC as a ``device.fault`` of the
``bpjs`` device, with the ticket number and BPJS's message but no patient identifier.

>>> # see tests/test_bpjs_sync.py for a simulated day against a local mock service
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from edge.bpjs import calls
from edge.bpjs.calls import Call
from edge.bpjs.client import AntreanClient
from edge.bpjs.config import BpjsConfig, Poli
from edge.bpjs.store import BpjsStore, Pending
from edge.bpjs.wire import Answer, Outcome
from edge.closing import Closing
from edge.queue import outbox
from edge.queue.db import connect

log = logging.getLogger(__name__)
IDENTIFIER = re.compile(r"\d{8,}")  # card numbers, NIKs, phone numbers


def scrub(text: str) -> str:
    """Text safe for logs and MQTT: long digit runs (identifiers) blanked.

    >>> scrub("Nomor kartu 0001234567890 tidak aktif")
    'Nomor kartu *** tidak aktif'
    """
    return IDENTIFIER.sub("***", text)[:200]


@dataclass(frozen=True)
class SyncHealth:
    state: str  # ok, retrying, refused
    pending: int
    refused: int
    last_error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "pending": self.pending, "refused": self.refused,
                "last_error": self.last_error}


Refused = Callable[[str, str], None]  # (ticket number, BPJS's message, scrubbed)


def body_of(p: Pending, poli: Poli) -> dict[str, Any]:
    """The request body of a pending call."""
    if p.call is Call.ADD:
        return calls.add_body(p.patient, poli, number=p.number, day=p.day)
    if p.call is Call.PANGGIL:
        at_ms = int(datetime.fromisoformat(p.event_ts).timestamp() * 1000)
        return calls.panggil_body(p.patient, poli, day=p.day, present=p.present, at_ms=at_ms)
    return calls.batal_body(p.patient, poli, day=p.day, reason=p.reason)


class BpjsSync(Closing):
    """Owns the HTTP client and its own database connection; ``notify()`` wakes it."""

    def __init__(
        self, config: BpjsConfig, db_path: Path, *, timezone: str = "Asia/Jakarta",
        on_event: Callable[[], None] = lambda: None, on_refused: Refused | None = None,
        client: AntreanClient | None = None,
    ) -> None:
        self._config = config
        self._db_path = db_path
        self._tz = ZoneInfo(timezone)
        self._client = client or AntreanClient(config)
        self._on_event = on_event
        self._on_refused = on_refused
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._health = SyncHealth("ok", 0, 0, None)
        self._thread = threading.Thread(target=self._run, name="bpjs-sync", daemon=True)

    def start(self) -> BpjsSync:
        self._thread.start()
        return self

    def notify(self) -> None:
        """Something may be pending (a registration, a call): look now."""
        self._wake.set()

    def health(self) -> dict[str, Any]:
        with self._lock:
            return self._health.to_dict()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._config.timeout_s + 5)

    # --- the thread --------------------------------------------------------------------

    def _run(self) -> None:
        store = BpjsStore(self._db_path)
        delay = self._config.retry_min_s
        try:
            while not self._stop.is_set():
                pending = store.next_pending()
                self._set_health(store, None)
                if pending is None:
                    self._wake.wait(timeout=5.0)
                    self._wake.clear()
                    continue
                if self._send(store, pending):
                    delay = self._config.retry_min_s
                    continue
                self._stop.wait(delay)
                delay = min(delay * 2, self._config.retry_max_s)
        finally:
            store.close()

    def _send(self, store: BpjsStore, p: Pending) -> bool:
        """Make one call; True when it was answered definitively."""
        poli = self._config.poli.get(p.service)
        if poli is None:
            answer = Answer(Outcome.REFUSED, None, f"service {p.service} has no [bpjs.poli]")
        else:
            answer = self._client.send(p.call, body_of(p, poli))
        if answer.outcome is Outcome.RETRY:
            store.failed(p.id, scrub(answer.message))
            if p.attempts == 0:
                log.warning("bpjs: %s %s not answered, retrying: %s", p.call, p.number,
                            scrub(answer.message))
            self._set_health(store, scrub(answer.message))
            return False
        now = datetime.now(self._tz)
        accepted = answer.outcome is Outcome.ACCEPTED
        store.answered(p.id, accepted=accepted, code=answer.code,
                       message=scrub(answer.message), now=now)
        if not accepted:
            self._refused(p, scrub(answer.message), now)
        return True

    def _refused(self, p: Pending, message: str, now: datetime) -> None:
        log.warning("bpjs: %s %s refused: %s", p.call, p.number, message)
        detail = f"{p.call} {p.number} ditolak BPJS: {message}"
        conn = connect(self._db_path)
        try:
            conn.execute("BEGIN IMMEDIATE")
            outbox.append(conn, "device.fault",
                          {"device": "bpjs", "state": "refused", "detail": detail},
                          now.isoformat(timespec="seconds"))
            conn.execute("COMMIT")
        finally:
            conn.close()
        self._on_event()
        if self._on_refused is not None:
            self._on_refused(p.number, message)

    def _set_health(self, store: BpjsStore, error: str | None) -> None:
        """Refusals count for today only: the NCC's alarm clears the next day."""
        tally = store.tally(refused_since=datetime.now(self._tz).date().isoformat())
        state = "retrying" if error else ("refused" if tally.refused else "ok")
        with self._lock:
            self._health = SyncHealth(state, tally.pending, tally.refused, error)


def wait_idle(db_path: Path, timeout_s: float) -> bool:
    """True once no call is pending in the database at ``db_path`` (tests, tools)."""
    store = BpjsStore(db_path)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if store.tally().pending == 0:
                return True
            time.sleep(0.05)
        return False
    finally:
        store.close()
