"""The connection loop of the node's MQTT link: one paho client at a time, its socket in a
``select()`` with a wake-up pipe, reconnection with backoff.

Transport knows nothing of events, commands or health: paho's callbacks only record what
happened as ``Connected``, ``Lost``, ``Incoming`` and ``Published`` values, which the
link's delivery policy (``edge.mqtt.delivery``) takes with ``events()``. Everything here
runs on the link thread.

>>> t = Transport(MqttConfig(host="127.0.0.1", port=1, allow_anonymous=True),
...               client_id="brexit-janti-kiosk-1")
>>> t.connected, t.due()
(False, True)
"""

from __future__ import annotations

import contextlib
import random
import select
import ssl
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from edge.config import MqttConfig


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: doubling from ``low_s`` up to ``high_s``, with jitter."""

    low_s: float = 0.5
    high_s: float = 30.0

    def delay(self, attempt: int) -> float:
        return backoff_delay(attempt, self.low_s, self.high_s, random.uniform(0.5, 1.0))


def backoff_delay(attempt: int, low: float, high: float, jitter: float) -> float:
    """Seconds before reconnect ``attempt`` (1, 2, …): doubling from ``low`` up to ``high``,
    scaled by ``jitter`` in [0.5, 1].

    >>> [backoff_delay(n, 0.5, 4.0, 1.0) for n in (1, 2, 3, 4, 5)]
    [0.5, 1.0, 2.0, 4.0, 4.0]
    """
    return min(high, low * 2 ** min(attempt - 1, 30)) * jitter


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes


@dataclass(frozen=True)
class Connected:
    """The broker accepted the connection (CONNACK success); over TLS, when the broker's
    certificate expires (``getpeercert()["notAfter"]``, e.g. "Mar  4 12:00:00 2029 GMT")."""

    peer_not_after: str | None = None


@dataclass(frozen=True)
class Lost:
    """The connection failed or ended; ``error`` says why."""

    error: str


@dataclass(frozen=True)
class Incoming:
    topic: str
    payload: bytes
    retained: bool = False


@dataclass(frozen=True)
class Published:
    """The broker acknowledged the QoS 1 publish ``mid``."""

    mid: int


TransportEvent = Connected | Lost | Incoming | Published


def describe(error: BaseException) -> str:
    """One line for an exception: ``FileNotFoundError: [Errno 2] …``."""
    text = str(error) or type(error).__name__
    return text if text.startswith(type(error).__name__) else f"{type(error).__name__}: {text}"


def read_all(client: mqtt.Client) -> None:
    """Read what the socket has, including bytes the TLS layer already decrypted.

    ``loop_read`` takes one packet when nothing is in flight; with TLS the rest of a record
    stays in the SSL object's buffer, where ``select()`` cannot see it (``pending()``), so
    keep reading while it holds anything (as paho's own loop and aiomqtt do)."""
    sock = client.socket()
    client.loop_read()
    if not isinstance(sock, ssl.SSLSocket):
        return
    tls: ssl.SSLSocket = sock
    while client.socket() is tls and tls.pending() > 0:
        if client.loop_read() != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return


def _peer_not_after(client: mqtt.Client) -> str | None:
    sock = client.socket()
    if not isinstance(sock, ssl.SSLSocket):
        return None
    try:
        value = (sock.getpeercert() or {}).get("notAfter")
    except (OSError, ValueError):
        return None
    return value if isinstance(value, str) else None


class Transport:
    """One connection to the broker at a time (see the module docstring)."""

    def __init__(
        self, config: MqttConfig, *, client_id: str, window: int = 50,
        backoff: Backoff | None = None,
    ) -> None:
        self._config = config
        self._client_id = client_id
        self._window = window
        self._backoff = backoff or Backoff()
        self._client: mqtt.Client | None = None
        self._events: deque[TransportEvent] = deque()
        self._attempt = 0
        self._next_attempt = 0.0
        self._lost: str | None = None  # set by a paho callback, acted on after it
        self.connected = False

    # --- connecting ---------------------------------------------------------------

    def due(self) -> bool:
        """No client and the backoff has passed: time to try again."""
        return self._client is None and time.monotonic() >= self._next_attempt

    def connect(self, will: Will) -> None:
        """Start a connection (CONNACK arrives later as ``Connected`` or ``Lost``).

        Any failure (a missing or garbage CA file, DNS, refused, TLS) becomes ``Lost``."""
        try:
            client = self._new_client(will)
            client.connect(self._config.host, self._config.port, self._config.keepalive)
        except Exception as e:
            self.fail(f"connect to {self._config.host}:{self._config.port}: {describe(e)}")
            return
        self._client = client

    def _new_client(self, will: Will) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self._client_id, clean_session=True,
            protocol=MQTTProtocolVersion.MQTTv311, reconnect_on_failure=False,
        )
        cfg = self._config
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls_ca is not None:
            try:
                client.tls_set(
                    ca_certs=str(cfg.tls_ca),
                    certfile=str(cfg.tls_cert) if cfg.tls_cert else None,
                    keyfile=str(cfg.tls_key) if cfg.tls_key else None,
                )
            except (OSError, ssl.SSLError) as e:
                files = [f"{k} {v}" for k, v in (("tls_ca", cfg.tls_ca), ("tls_cert",
                         cfg.tls_cert), ("tls_key", cfg.tls_key)) if v is not None]
                raise ValueError(f"TLS files ({', '.join(files)}): {describe(e)}") from e
        client.max_inflight_messages_set(self._window)
        client.will_set(will.topic, will.payload, 1, True)
        client.on_connect = self._cb_connect
        client.on_disconnect = self._cb_disconnect
        client.on_message = self._cb_message
        client.on_publish = self._cb_publish
        return client

    def fail(self, error: str) -> float:
        """Record a failed or lost connection, drop the client, schedule the next try."""
        self._drop_client()
        self._attempt += 1
        delay = self._backoff.delay(self._attempt)
        self._next_attempt = time.monotonic() + delay
        self._events.append(Lost(error))
        return delay

    def _drop_client(self) -> None:
        self.connected = False
        self._lost = None
        client, self._client = self._client, None
        if client is None:
            return
        client.on_disconnect = None
        with contextlib.suppress(Exception):  # the socket may already be gone
            client.disconnect()
            client.loop_write()
        sock = client.socket()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    # --- the loop -----------------------------------------------------------------

    def next_attempt(self) -> float | None:
        """When the next connection attempt is due (monotonic), if there is no client."""
        return self._next_attempt if self._client is None else None

    def wait(self, timeout: float, wake_fd: int) -> bool:
        """Wait for the socket or ``wake_fd`` at most ``timeout`` s, then let paho read,
        write and keep alive. True when ``wake_fd`` was readable."""
        client = self._client
        sock = client.socket() if client is not None else None
        readers: list[Any] = [wake_fd] + ([sock] if sock is not None else [])
        writers: list[Any] = [sock] if sock is not None and client and client.want_write() else []
        try:
            readable, writable, _ = select.select(readers, writers, [], timeout)
        except (OSError, ValueError):
            readable, writable = [], []
        if client is not None and sock is not None:
            self._service(client, sock, sock in readable, sock in writable)
        return wake_fd in readable

    def _service(self, client: mqtt.Client, sock: Any, readable: bool, writable: bool) -> None:
        try:
            if readable:
                read_all(client)
            if writable and client.socket() is not None:
                client.loop_write()
            if client.socket() is not None:
                client.loop_misc()
        except Exception as e:  # a TLS error mid-stream, a reset socket
            self._lost = self._lost or f"connection: {describe(e)}"
        if self._lost is not None:
            self.fail(self._lost)

    def events(self) -> list[TransportEvent]:
        """What happened since the last call, in order."""
        out = list(self._events)
        self._events.clear()
        return out

    # --- using the connection -----------------------------------------------------

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int | None:
        """Publish at QoS 1; the message id, or None when there is no connection."""
        if self._client is None:
            return None
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        return info.mid if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS else None

    def subscribe(self, topics: list[tuple[str, int]]) -> None:
        if self._client is not None:
            self._client.subscribe(topics)

    def unsubscribe(self, topic: str) -> None:
        if self._client is not None:
            self._client.unsubscribe(topic)

    def disconnect(self) -> None:
        """A clean DISCONNECT (no Will), then close the socket."""
        self._drop_client()

    # paho callbacks: they run inside loop_read/loop_misc on this thread; they only record.

    def _cb_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        if reason.is_failure:
            self._lost = f"broker refused: {reason}"
            return
        self.connected = True
        self._attempt = 0
        self._events.append(Connected(_peer_not_after(client)))

    def _cb_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        if client is self._client:
            what = "disconnected" if self.connected else "connection closed before CONNACK"
            self._lost = self._lost or f"{what}: {reason}"

    def _cb_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._events.append(Incoming(message.topic, bytes(message.payload), bool(message.retain)))

    def _cb_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode, props: Any
    ) -> None:
        self._events.append(Published(mid))
