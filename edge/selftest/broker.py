"""The broker check: name lookup, TCP, TLS with the fleet CA, then an MQTT CONNACK.

Each step has its own code, so a technician on the phone can tell a wrong DNS entry from a
wrong certificate or a wrong password. The MQTT step uses paho with a short time-out and no
client id (clean session): the broker gives it an ``auto-…`` id, which every login may use
(docs/brokers.md), so a running node's session is never taken over.

>>> broker_check(None).status.value
'skip'
"""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edge.config import MqttConfig
from edge.selftest.result import CheckResult, Fault, fail, passed, skipped

TIMEOUT_S = 5.0
CHECK = "broker"


@dataclass(frozen=True)
class Connack:
    """What the broker answered to CONNECT; ``reason`` is None when it did not answer."""

    reason: str | None
    accepted: bool


def broker_check(cfg: MqttConfig | None, *, client_id: str = "",
                 timeout_s: float = TIMEOUT_S) -> CheckResult:
    """Every step in order; the first that fails gives the result."""
    if cfg is None:
        return skipped(CHECK, "node ini tidak memakai server MQTT")
    where = f"{cfg.host}:{cfg.port}"
    try:
        address = socket.getaddrinfo(cfg.host, cfg.port, type=socket.SOCK_STREAM)[0][4]
    except (OSError, UnicodeError):
        return fail(Fault.BROKER_DNS, CHECK, f"nama server MQTT {cfg.host} tidak ditemukan")
    try:
        with socket.create_connection((str(address[0]), cfg.port), timeout=timeout_s) as sock:
            if cfg.tls_ca is not None:
                _tls_handshake(sock, cfg)
    except ssl.SSLError:
        return fail(Fault.BROKER_TLS, CHECK)
    except OSError:
        return fail(Fault.BROKER_CONNECT, CHECK, f"server MQTT {where} tidak dapat dihubungi")
    answer = connack(cfg, client_id=client_id, timeout_s=timeout_s)
    if answer.reason is None:
        return fail(Fault.BROKER_SILENT, CHECK)
    if not answer.accepted:
        return fail(Fault.BROKER_LOGIN, CHECK, f"server MQTT menolak login node: {answer.reason}")
    return passed(CHECK, f"server MQTT {where} menerima node")


def _tls_handshake(sock: socket.socket, cfg: MqttConfig) -> None:
    context = ssl.create_default_context(cafile=str(cfg.tls_ca))
    if cfg.tls_cert is not None:
        context.load_cert_chain(str(cfg.tls_cert), str(cfg.tls_key) if cfg.tls_key else None)
    with context.wrap_socket(sock, server_hostname=cfg.host):
        pass


def connack(cfg: MqttConfig, *, client_id: str, timeout_s: float) -> Connack:
    """Connect with the node's login and wait for the broker's answer, then disconnect."""
    answered = threading.Event()
    result: list[Connack] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True,
                         protocol=MQTTProtocolVersion.MQTTv311, reconnect_on_failure=False)
    if cfg.username is not None:
        client.username_pw_set(cfg.username, cfg.password)
    if cfg.tls_ca is not None:
        client.tls_set(ca_certs=str(cfg.tls_ca),
                       certfile=str(cfg.tls_cert) if cfg.tls_cert else None,
                       keyfile=str(cfg.tls_key) if cfg.tls_key else None)

    def on_connect(_c: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        result.append(Connack(str(reason), not getattr(reason, "is_failure", True)))
        answered.set()

    client.on_connect = on_connect
    try:
        client.connect(cfg.host, cfg.port, keepalive=max(5, int(timeout_s) * 2))
        client.loop_start()
        answered.wait(timeout_s)
    except (OSError, ssl.SSLError):
        return Connack(None, False)
    finally:
        client.disconnect()
        client.loop_stop()
    return result[0] if result else Connack(None, False)
