"""The NCC's event ingest: store every node event once, by (site, node, epoch, seq), and ack.

It subscribes to ``brexit/v1/+/+/event`` with a persistent session, stores idempotently
in SQLite, and publishes ``brexit/v1/ncc/ack/{site}/{node}`` (retained) as
``{"epoch", "seq"}``: the highest seq of that epoch stored with none missing below it
(the epoch is the node database's install identity: a re-installed node starts a new one).
Its own birth and Will go to ``brexit/v1/ncc/status``
with a ``session`` that rises on every connect, so nodes re-send what is not acked.

Only paho's network thread (``loop_start``) publishes; the callbacks store and ack.

>>> ing = Ingest(Path(tempfile.mkdtemp()) / "ncc.db", host="127.0.0.1", port=1)
>>> ing.store(b'{"id":"5f0c3e0e-0000-4000-8000-000000000000","site":"janti","node":"k1",'
...           b'"epoch":"9f2c41d07b3e8a65","seq":1,"ts":"2026-11-29T08:00:00+07:00",'
...           b'"type":"help.requested","data":{}}')
('janti', 'k1', '9f2c41d07b3e8a65', 1)
>>> ing.contiguous("janti", "k1")
1
"""

from __future__ import annotations

import json
import logging
import sqlite3
import tempfile  # noqa: F401  (used by the doctest)
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from contract.payloads import ack, decode_object, encode, now_iso
from contract.schemas import Schemas
from contract.topics import NCC_STATUS, PREFIX

log = logging.getLogger(__name__)

EVENT_FILTER = f"{PREFIX}/+/+/event"
SCHEMA = """
CREATE TABLE IF NOT EXISTS event (
    site TEXT NOT NULL, node TEXT NOT NULL, epoch TEXT NOT NULL, seq INTEGER NOT NULL,
    id TEXT NOT NULL, ts TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (site, node, epoch, seq)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def ack_topic(site: str, node: str) -> str:
    return f"{PREFIX}/ncc/ack/{site}/{node}"


@dataclass(frozen=True)
class IngestStats:
    stored: int
    duplicates: int
    rejected: int


class Ingest:
    """A small, real NCC consumer (the full monitor is built on it later).

    >>> Ingest(Path("/tmp/x.db"), host="127.0.0.1", port=1883).client_id
    'brexit-ncc'
    """

    def __init__(
        self,
        db_path: Path,
        *,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        tls_ca: Path | None = None,
        client_id: str = "brexit-ncc",
        version: str = "0.1.0",
        schemas: Schemas | None = None,
    ) -> None:
        self.client_id = client_id
        self._host, self._port = host, port
        self._login = (username, password)
        self._tls_ca = tls_ca
        self._version = version
        self._db_path = db_path
        self._schemas = schemas
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._contiguous: dict[tuple[str, str, str], int] = {}
        self._epochs: dict[tuple[str, str], str] = {}  # the latest epoch seen per node
        self._stats = IngestStats(0, 0, 0)
        self._session = 0
        self._client: mqtt.Client | None = None

    # --- storage (callable without a broker) ---------------------------------------

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self._db_path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self._db_path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
            self._conn = conn
        return self._conn

    def store(self, raw: bytes) -> tuple[str, str, str, int] | None:
        """Store one event payload; (site, node, epoch, seq) when it is valid, else None."""
        event = decode_object(raw)
        if event is None or not self._valid(event):
            self._count(rejected=1)
            return None
        key = (event["site"], event["node"], event["epoch"])
        with self._lock:
            self._epochs[key[:2]] = key[2]
            cur = self._db().execute(
                "INSERT OR IGNORE INTO event (site, node, epoch, seq, id, ts, type, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*key, event["seq"], event["id"], event["ts"], event["type"],
                 json.dumps(event["data"], ensure_ascii=False)),
            )
            self._count(stored=cur.rowcount, duplicates=1 - cur.rowcount)
            self._advance(key)
        return (*key, event["seq"])

    def _valid(self, event: dict[str, Any]) -> bool:
        if self._schemas is None:
            self._schemas = Schemas.load()
        problems = self._schemas.errors("event", event)
        if problems:
            log.warning("rejected event: %s", problems[0])
        return not problems

    def _count(self, stored: int = 0, duplicates: int = 0, rejected: int = 0) -> None:
        s = self._stats
        self._stats = IngestStats(
            s.stored + stored, s.duplicates + duplicates, s.rejected + rejected
        )

    def _advance(self, key: tuple[str, str, str]) -> None:
        name = "acked:" + "/".join(key)
        if key not in self._contiguous:
            self._contiguous[key] = int(self._meta(name) or 0)
        c = self._contiguous[key]
        rows = self._db().execute(
            "SELECT seq FROM event WHERE site = ? AND node = ? AND epoch = ? AND seq > ?"
            " ORDER BY seq",
            (*key, c),
        )
        for (seq,) in rows:
            if seq != c + 1:
                break
            c = seq
        self._contiguous[key] = c
        self._db().execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (name, str(c))
        )

    def _meta(self, key: str) -> str | None:
        row = self._db().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def epoch(self, site: str, node: str) -> str | None:
        """The epoch of the node's latest stored event (None: nothing seen yet)."""
        with self._lock:
            return self._latest_epoch(site, node) or None

    def _latest_epoch(self, site: str, node: str) -> str:
        if (site, node) not in self._epochs:
            row = self._db().execute(
                "SELECT epoch FROM event WHERE site = ? AND node = ? ORDER BY rowid DESC LIMIT 1",
                (site, node),
            ).fetchone()
            if row is None:
                return ""
            self._epochs[(site, node)] = str(row[0])
        return self._epochs[(site, node)]

    def contiguous(self, site: str, node: str, epoch: str | None = None) -> int:
        """Highest seq of ``epoch`` (default: the node's latest) stored with none missing."""
        with self._lock:
            epoch = epoch or self._latest_epoch(site, node)
            return self._contiguous.get((site, node, epoch), 0)

    def seqs(self, site: str, node: str, epoch: str | None = None) -> list[int]:
        """Stored seqs of ``epoch`` (default: the node's latest epoch)."""
        with self._lock:
            epoch = epoch or self._latest_epoch(site, node)
            rows = self._db().execute(
                "SELECT seq FROM event WHERE site = ? AND node = ? AND epoch = ? ORDER BY seq",
                (site, node, epoch),
            ).fetchall()
        return [int(r[0]) for r in rows]

    def events(self, site: str, node: str, epoch: str | None = None) -> list[dict[str, Any]]:
        """Stored events of ``epoch`` (default: the node's latest epoch), in seq order."""
        with self._lock:
            epoch = epoch or self._latest_epoch(site, node)
            rows = self._db().execute(
                "SELECT seq, id, ts, type, data FROM event WHERE site = ? AND node = ?"
                " AND epoch = ? ORDER BY seq", (site, node, epoch),
            ).fetchall()
        return [{"seq": r[0], "id": r[1], "ts": r[2], "type": r[3], "data": json.loads(r[4])}
                for r in rows]

    def stats(self) -> IngestStats:
        return self._stats

    # --- the MQTT side -----------------------------------------------------------------

    def start(self) -> Ingest:
        with self._lock:
            self._session = int(self._meta("session") or 0)
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=False,
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        if self._login[0] is not None:
            client.username_pw_set(*self._login)
        if self._tls_ca is not None:
            client.tls_set(ca_certs=str(self._tls_ca))
        client.reconnect_delay_set(1, 5)
        client.max_inflight_messages_set(100)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client
        self._next_session(client)
        client.connect_async(self._host, self._port, keepalive=30)
        client.loop_start()
        return self

    def close(self) -> None:
        """Publish offline (a clean disconnect sends no Will) and stop."""
        client = self._client
        if client is not None:
            if client.is_connected():
                info = client.publish(NCC_STATUS, self._status(False), qos=1, retain=True)
                info.wait_for_publish(timeout=2)
            client.disconnect()
            client.loop_stop()
            self._client = None
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Ingest:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _status(self, online: bool) -> bytes:
        return encode({"online": online, "session": self._session, "ts": now_iso(),
                       "version": self._version})

    def _next_session(self, client: mqtt.Client) -> None:
        """A new session for the next connect: persisted, and in the Will."""
        with self._lock:
            self._session += 1
            self._db().execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('session', ?)",
                (str(self._session),),
            )
        client.will_set(NCC_STATUS, self._status(False), qos=1, retain=True)

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        if reason.is_failure:
            log.warning("ncc ingest: broker refused: %s", reason)
            return
        client.subscribe(EVENT_FILTER, qos=1)
        client.publish(NCC_STATUS, self._status(True), qos=1, retain=True)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        self._next_session(client)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        stored = self.store(bytes(msg.payload))
        if stored is None:
            return
        site, node, epoch, _ = stored
        seq = self.contiguous(site, node, epoch)
        client.publish(ack_topic(site, node), encode(ack(seq, epoch)), qos=1, retain=True)
