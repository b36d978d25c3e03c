"""The NCC's ingest: everything the central broker carries under ``brexit/v1/``, stored in
batches, with the retained acks published only after their batch is committed.

One thread owns the paho client (it runs paho's network loop itself: ``loop_read``,
``loop_write``, ``loop_misc`` on a ``select``), so nothing else ever touches the client;
others hand publications over with ``publish()``. The session is persistent
(``clean_session=False``, QoS 1): the broker keeps what arrives while the NCC is away. Every
connect is a new NCC session: the Will and the birth on ``brexit/v1/ncc/status`` carry it, so
nodes re-send what is not acked. Events are stored idempotently by (site, node, epoch, seq);
the ack ``{"epoch","seq"}`` is the highest seq of that epoch stored with none missing below.

>>> ing = Ingest(Path(tempfile.mkdtemp()) / "ncc.db", host="127.0.0.1", port=1)
>>> ing.store(b'{"id":"5f0c3e0e-0000-4000-8000-000000000000","site":"janti","node":"k1",'
...           b'"epoch":"9f2c41d07b3e8a65","seq":1,"ts":"2026-11-29T08:00:00+07:00",'
...           b'"type":"help.requested","data":{}}')
('janti', 'k1', '9f2c41d07b3e8a65', 1)
>>> ing.contiguous("janti", "k1")
1
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import select
import sqlite3
import ssl
import tempfile  # noqa: F401  (used by the doctest)
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from contract import payloads
from contract.payloads import encode, now_iso
from contract.schemas import Schemas
from contract.topics import NCC_STATUS, PREFIX, NodeTopics
from ncc.messages import EventMsg, Message, Rejected, ReplyMsg, fast_schemas, parse
from ncc.mqttclient import BurstClient
from ncc.store import Ack, BatchResult, SqliteStore, Store

log = logging.getLogger(__name__)

FILTERS = (
    *(f"{PREFIX}/+/+/{leaf}" for leaf in ("status", "health", "event", "reply")),
    f"{PREFIX}/+/queue",
)
EVENT_FILTER = f"{PREFIX}/+/+/event"
SESSION_KEY = "ncc_session"
BATCH_MAX = 1000
BATCH_WAIT_S = 0.05  # a batch is committed at most this long after its first message
READ_BURST = 5000
STORE_RETRY_S = 1.0
BUFFER_CAP = 50_000  # messages held while the store cannot commit


def ack_topic(site: str, node: str) -> str:
    return NodeTopics(site, node).ack


def ack_payload(a: Ack) -> dict[str, Any]:
    """``{"epoch","seq"}``; a node that sends no epoch (contract v1) gets ``{"seq"}``.

    >>> ack_payload(Ack("janti", "k1", "9f2c41d07b3e8a65", 4))
    {'epoch': '9f2c41d07b3e8a65', 'seq': 4}
    >>> ack_payload(Ack("janti", "k1", "", 4))
    {'seq': 4}
    """
    return payloads.ack(a.seq, a.epoch) if a.epoch else {"seq": a.seq}


@dataclass(frozen=True)
class IngestStats:
    stored: int
    duplicates: int
    rejected: int
    store_failures: int = 0  # batches whose commit failed (kept and retried)


class _Raw(NamedTuple):  # one a message: a tuple is made three times faster
    topic: str
    payload: bytes
    retained: bool
    received: float


class Ingest:
    """Consumes the central broker into a ``Store``.

    ``on_batch`` runs on the ingest thread after each commit; ``on_reply`` for each command
    reply. ``Ingest(path, ...)`` opens its own SQLite store (tests and tools do that).

    >>> Ingest(Path("/tmp/x.db"), host="127.0.0.1", port=1883).client_id
    'brexit-ncc'
    """

    def __init__(
        self,
        store: Store | Path,
        *,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        tls_ca: Path | None = None,
        client_id: str = "brexit-ncc",
        version: str = "0.1.0",
        schemas: Schemas | None = None,
        on_batch: Callable[[BatchResult], None] | None = None,
        on_reply: Callable[[ReplyMsg], None] | None = None,
    ) -> None:
        self.client_id = client_id
        self._host, self._port = host, port
        self._login = (username, password)
        self._tls_ca = tls_ca
        self._version = version
        self._store_arg = store
        self._store: Store | None = None if isinstance(store, Path) else store
        self._on_batch, self._on_reply = on_batch, on_reply
        self._lock = threading.Lock()
        self._stats = IngestStats(0, 0, 0)
        self._session = 0
        self._client: BurstClient | None = None
        self._buffer: list[_Raw] = []
        self._first_buffered = 0.0
        self._store_retry_at = 0.0  # after a failed commit: when to try again
        self._outgoing: queue.Queue[tuple[str, bytes, bool]] = queue.Queue()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lost = False
        self._connected_now = False
        self._online = threading.Event()
        self._attempt = 0
        self._next_attempt = 0.0
        self.last_error: str | None = None
        self.last_batch_latency_s = 0.0
        fast_schemas()  # compiled now (~0.2 s, once a process), not on the first message

    # --- storage (callable without a broker) ---------------------------------------

    @property
    def db(self) -> Store:
        if self._store is None:
            assert isinstance(self._store_arg, Path)
            self._store = SqliteStore(self._store_arg)
        return self._store

    def store(self, raw: bytes) -> tuple[str, str, str, int] | None:
        """Store one event payload now; (site, node, epoch, seq) when valid, else None."""
        from contract.payloads import decode_object

        obj = decode_object(raw) or {}
        site, node = str(obj.get("site", "x")), str(obj.get("node", "x"))
        try:
            topic = NodeTopics(site, node).event
        except ValueError:
            self._count(rejected=1)
            return None
        msg = parse(topic, raw, retained=False, now=time.time())
        if not isinstance(msg, EventMsg):
            self._count(rejected=1)
            return None
        self._apply([msg])
        return (msg.site, msg.node, msg.epoch, msg.seq)

    def epoch(self, site: str, node: str) -> str | None:
        """The epoch of the node's latest stored event (None: nothing seen yet)."""
        return self._latest_epoch(site, node) or None

    def _latest_epoch(self, site: str, node: str) -> str:
        rows = self.db.nodes([(site, node)])
        return (rows[0].epoch or "") if rows else ""

    def contiguous(self, site: str, node: str, epoch: str | None = None) -> int:
        """The acked seq of ``epoch`` (default: the node's latest epoch)."""
        return self.db.contiguous(site, node, self._latest_epoch(site, node)
                                  if epoch is None else epoch)

    def seqs(self, site: str, node: str, epoch: str | None = None) -> list[int]:
        return self.db.seqs(site, node, self._latest_epoch(site, node)
                            if epoch is None else epoch)

    def events(self, site: str, node: str, epoch: str | None = None) -> list[dict[str, Any]]:
        """Stored events of ``epoch`` (default: the node's latest epoch), in seq order."""
        epoch = self._latest_epoch(site, node) if epoch is None else epoch
        rows = [e for e in self.db.events(site=site, node=node, limit=10**9)
                if e["epoch"] == epoch]
        rows.sort(key=lambda e: e["seq"])
        return [{k: e[k] for k in ("epoch", "seq", "id", "ts", "type", "data")} for e in rows]

    def stats(self) -> IngestStats:
        return self._stats

    def _count(self, stored: int = 0, duplicates: int = 0, rejected: int = 0,
               store_failures: int = 0) -> None:
        s = self._stats
        self._stats = IngestStats(s.stored + stored, s.duplicates + duplicates,
                                  s.rejected + rejected, s.store_failures + store_failures)

    def _apply(self, batch: list[Message]) -> BatchResult:
        result = self.db.apply(batch)
        self._count(stored=result.stored, duplicates=result.duplicates)
        return result

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> Ingest:
        if self._thread is not None:
            return self  # started already: one thread owns the client
        self._session = int(self.db.meta_get(SESSION_KEY) or 0)
        self._thread = threading.Thread(target=self._run, name="ncc-ingest", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Say offline (a clean disconnect sends no Will), stop, close the store."""
        if self._thread is not None:
            self._stop.set()
            self._wake()
            self._thread.join(timeout=10)
            self._thread = None
        if isinstance(self._store_arg, Path) and self._store is not None:
            self._store.close()
            self._store = None
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._wake_r = self._wake_w = -1

    def __enter__(self) -> Ingest:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def session(self) -> int:
        return self._session

    @property
    def connected(self) -> bool:
        return self._online.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._online.wait(timeout)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Hand a QoS 1 publication to the ingest thread (any thread may call this)."""
        self._outgoing.put((topic, payload, retain))
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    # --- the owner thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._turn()
            self._goodbye()
        except Exception:
            log.exception("ncc ingest thread failed")
            raise

    def _turn(self) -> None:
        if self._client is None and time.monotonic() >= self._next_attempt:
            self._connect()
        self._wait(self._timeout())
        if self._lost:
            self._drop_client()
        if self._connected_now and self._client is not None:
            self._connected_now = False
            self._on_online()
        if self._buffer and time.monotonic() >= self._store_retry_at and (
                len(self._buffer) >= BATCH_MAX or self._idle_or_due()):
            self._flush()
        self._send_outgoing()

    def _idle_or_due(self) -> bool:
        return time.monotonic() - self._first_buffered >= BATCH_WAIT_S or not self._readable()

    def _timeout(self) -> float:
        retry_in = self._store_retry_at - time.monotonic()
        if self._buffer and retry_in > 0:
            return min(retry_in, 1.0)
        if self._buffer or not self._outgoing.empty():
            return 0.0
        if self._client is None:
            return max(0.0, min(1.0, self._next_attempt - time.monotonic()))
        return 1.0

    def _readable(self) -> bool:
        client = self._client
        sock = client.socket() if client is not None else None
        if sock is None:
            return False
        if client is not None and client.buffered():
            return True  # read from the socket already, not yet by paho
        pending = getattr(sock, "pending", None)
        if pending is not None and pending():
            return True
        try:
            return bool(select.select([sock], [], [], 0)[0])
        except (OSError, ValueError):
            return False

    def _wait(self, timeout: float) -> None:
        client = self._client
        sock = client.socket() if client is not None else None
        reading = sock is not None and len(self._buffer) < BUFFER_CAP  # else: TCP backpressure
        readers: list[Any] = [self._wake_r] + ([sock] if reading else [])
        writers: list[Any] = [sock] if sock is not None and client and client.want_write() else []
        try:
            readable = select.select(readers, writers, [], timeout)[0]
        except (OSError, ValueError):
            readable = []
        if self._wake_r in readable:
            try:
                while os.read(self._wake_r, 4096):
                    pass
            except (BlockingIOError, OSError):
                pass
        if client is None or sock is None:
            return
        if reading and (sock in readable or self._readable()):
            for _ in range(READ_BURST):
                client.loop_read()
                if client.socket() is None or len(self._buffer) >= BATCH_MAX or \
                        not self._readable():
                    break
        if client.socket() is not None and client.want_write():
            client.loop_write()
        if client.socket() is not None:
            client.loop_misc()

    # --- connecting ------------------------------------------------------------------------

    def _connect(self) -> None:
        self._session += 1
        self.db.meta_set(SESSION_KEY, str(self._session))
        client = BurstClient(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=False,
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        if self._login[0] is not None:
            client.username_pw_set(*self._login)
        if self._tls_ca is not None:
            client.tls_set(ca_certs=str(self._tls_ca))
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        client.will_set(NCC_STATUS, self._status(False), qos=1, retain=True)
        client.on_connect = self._cb_connect
        client.on_disconnect = self._cb_disconnect
        client.on_message = self._cb_message
        client.on_burst = self._cb_burst
        try:
            client.connect(self._host, self._port, keepalive=30)
        except (OSError, ssl.SSLError) as e:
            self._fail(f"connect to {self._host}:{self._port}: {e}")
            return
        self._client = client

    def _fail(self, error: str) -> None:
        self.last_error = error
        self._attempt += 1
        delay = min(5.0, 0.2 * (2 ** min(self._attempt, 5)))
        self._next_attempt = time.monotonic() + delay
        log.warning("ncc ingest: %s; retrying in %.1f s", error, delay)

    def _drop_client(self) -> None:
        client, self._client = self._client, None
        self._lost = self._connected_now = False
        self._online.clear()
        if client is not None:
            with contextlib.suppress(Exception):
                if client.socket() is not None:
                    client.disconnect()
                    client.loop_write()
        if self._buffer:
            self._flush()  # what arrived is stored; its acks go out after the reconnect
        if self._next_attempt <= time.monotonic():
            self._fail(self.last_error or "connection lost")

    def _cb_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        if reason.is_failure:
            self.last_error = f"broker refused: {reason}"
            self._lost = True
            return
        self._connected_now = True

    def _cb_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        self.last_error = f"disconnected: {reason}"
        self._lost = True

    def _cb_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self._cb_burst(msg.topic, bytes(msg.payload), bool(msg.retain))

    def _cb_burst(self, topic: str, payload: bytes, retained: bool) -> None:
        if not self._buffer:
            self._first_buffered = time.monotonic()
        self._buffer.append(_Raw(topic, payload, retained, time.time()))

    def _on_online(self) -> None:
        assert self._client is not None
        self._attempt = 0
        self.last_error = None
        self._client.subscribe([(f, 1) for f in FILTERS])
        self._client.publish(NCC_STATUS, self._status(True), qos=1, retain=True)
        self._online.set()
        log.info("ncc ingest: online, session %d", self._session)

    def _status(self, online: bool) -> bytes:
        return encode({"online": online, "session": max(1, self._session), "ts": now_iso(),
                       "version": self._version})

    def _goodbye(self) -> None:
        client = self._client
        if client is None:
            return
        if self._online.is_set():
            info = client.publish(NCC_STATUS, self._status(False), qos=1, retain=True)
            deadline = time.monotonic() + 2.0
            while not info.is_published() and time.monotonic() < deadline and \
                    client.socket() is not None:
                self._wait(0.05)
        client.disconnect()
        client.loop_write()  # the DISCONNECT, so the broker sends no Will
        self._client = None
        self._online.clear()

    # --- batches -----------------------------------------------------------------------------

    def _flush(self) -> None:
        raws, self._buffer = self._buffer, []
        started = time.monotonic()
        parsed: list[Message] = []
        for raw in raws:
            msg = parse(raw.topic, raw.payload, retained=raw.retained, now=raw.received)
            if msg is None:
                continue
            if isinstance(msg, Rejected):
                self._count(rejected=1)
                log.warning("ncc ingest: rejected %s: %s", msg.topic, msg.reason)
            elif isinstance(msg, ReplyMsg):
                if self._on_reply is not None:
                    self._on_reply(msg)
            else:
                parsed.append(msg)
        if not parsed:
            return
        try:
            result = self._apply(parsed)
        except sqlite3.Error as e:
            # Nothing was acked: keep the batch and try again (nodes re-send in any case).
            self.last_error = f"store: {e}"
            self._count(store_failures=1)
            log.error("ncc ingest: cannot store a batch of %d: %s; retrying", len(parsed), e)
            self._buffer = raws + self._buffer
            self._store_retry_at = time.monotonic() + STORE_RETRY_S
            return
        if self._store_retry_at:
            self._store_retry_at, self.last_error = 0.0, None
        for ack in result.acks:  # committed: now the acks may go out
            self._outgoing.put((ack_topic(ack.site, ack.node), encode(ack_payload(ack)), True))
        self.last_batch_latency_s = time.monotonic() - started + (
            started - self._first_buffered if self._first_buffered else 0.0)
        if self._on_batch is not None:
            try:
                self._on_batch(result)
            except Exception:
                log.exception("ncc ingest: batch listener failed")

    def _send_outgoing(self) -> None:
        client = self._client
        if client is None or not self._online.is_set():
            return
        while True:
            try:
                topic, payload, retain = self._outgoing.get_nowait()
            except queue.Empty:
                return
            info = client.publish(topic, payload, qos=1, retain=retain)
            if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                self._outgoing.put((topic, payload, retain))
                return
