"""Real brokers for tests: Mosquitto from the project's own configs, and a NATS cluster.

Everything runs on loopback, on free ports, in the test's tmp directory, as whoever runs
the tests (root in CI, a normal user on a laptop). Example::

    pair = provisioned_pair(tmp_path)
    with MqttProbe(pair.central, pair.ncc) as ncc, MqttProbe(pair.site_lan, pair.node()) as n:
        ncc.subscribe("brexit/v1/#")
        n.publish("brexit/v1/janti/kiosk-1/event", b"{}")
        assert ncc.expect("brexit/v1/janti/kiosk-1/event").payload == b"{}"
"""

from __future__ import annotations

import getpass
import http.client
import json
import os
import queue
import random
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from types import TracebackType

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from mqtt_config import cli as broker_cli
from mqtt_config.bundle import BundleLayout, read_credentials
from mqtt_config.plugin import build_plugin
from mqtt_config.render import NatsNode, render_nats_conf

HOST = "127.0.0.1"
START_TIMEOUT_S = 20.0  # only a guard against a hung test; never a pass/fail threshold
MESSAGE_TIMEOUT_S = 30.0


_HANDED_OUT: set[int] = set()


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A TCP port on loopback that nobody listens on right now.

    Taken below the kernel's ephemeral range, so that no outgoing connection (a test's own
    MQTT client, say) can take it between now and the moment a broker binds it, and never
    the same port twice in one test session.
    """
    low, rng = _ephemeral_low(), random.Random()
    for _ in range(1000):
        port = rng.randrange(10_000, max(10_001, low))
        if port in _HANDED_OUT:
            continue
        with socket.socket() as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError("no free loopback port below the ephemeral range")


def wait_until(check: Callable[[], bool], what: str, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.05)


def accepts(host: str, port: int) -> bool:
    with suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


@dataclass(frozen=True)
class Address:
    """Where a broker listens; ``ca`` set means TLS with that CA file."""

    host: str
    port: int
    ca: Path | None = None


@dataclass(frozen=True)
class Login:
    username: str
    password: str


# --- processes ---------------------------------------------------------------------------

class Mosquitto:
    """A mosquitto process started from a rendered config.

    >>> broker = Mosquitto(conf, port=1883, log=tmp_path / "site.log")  # doctest: +SKIP
    >>> broker.start(); broker.kill(); broker.restart()                  # doctest: +SKIP
    """

    def __init__(self, config: Path, *, port: int, log: Path, host: str = HOST) -> None:
        self.config, self.port, self.log, self.host = config, port, log, host
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.running:
            return
        with self.log.open("ab") as log:
            self._proc = subprocess.Popen(
                ["mosquitto", "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT
            )
        wait_until(self._ready, f"mosquitto {self.config} on port {self.port}")

    def _ready(self) -> bool:
        if self._proc is not None and self._proc.poll() is not None:
            raise RuntimeError(f"mosquitto exited: {self.log.read_text(errors='replace')}")
        return accepts(self.host, self.port)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        """SIGTERM: Mosquitto saves its persistence file and exits."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: a crash; only what was already saved survives."""
        self._end(signal.SIGKILL)

    def reload(self) -> None:
        """SIGHUP (``systemctl reload``): password file, ACL and certificates are read again."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGHUP)

    def restart(self) -> None:
        """Start again on the same port with the same persistence directory."""
        self.stop()
        self.start()

    def _end(self, sig: signal.Signals) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.send_signal(sig)
        self._proc.wait(timeout=START_TIMEOUT_S)
        wait_until(lambda: not accepts(self.host, self.port), f"port {self.port} to close")

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- the provisioned site + central pair ---------------------------------------------------

@dataclass
class BrokerPair:
    """A site broker bridged to a central broker, both made by ``brexit broker``.

    Logins exist for every node of ``site`` and of ``other_site`` (only ``site`` has a
    running site broker), both sites' staff, and the NCC (central only).
    """

    site_id: str
    nodes: tuple[str, ...]
    other_site: str
    other_nodes: tuple[str, ...]
    site_broker: Mosquitto
    central_broker: Mosquitto
    site_lan: Address  # plain MQTT, for the site's nodes
    site_tls: Address
    central: Address  # TLS
    ca_file: Path
    site_dir: Path  # the bundle `brexit broker site` wrote (credentials.toml, nodes/*.password)
    central_dir: Path
    logins: dict[str, str] = field(default_factory=dict)  # username -> password

    def login(self, username: str) -> Login:
        return Login(username, self.logins[username])

    def node(self, node: str | None = None, site: str | None = None) -> Login:
        return self.login(f"node.{site or self.site_id}.{node or self.nodes[0]}")

    def staff(self, site: str | None = None) -> Login:
        return self.login(f"staff.{site or self.site_id}")

    def bridge(self, site: str | None = None) -> Login:
        return self.login(f"bridge.{site or self.site_id}")

    @property
    def ncc(self) -> Login:
        return self.login("ncc")

    def wait_bridge_up(self) -> None:
        """Block until the site broker reports its bridge connected (retained $SYS state)."""
        topic = f"$SYS/broker/connection/bridge.{self.site_id}/state"
        with MqttProbe(self.site_lan, self.staff()) as staff:
            staff.subscribe(topic)
            wait_until(lambda: staff.expect(topic).payload == b"1", "the bridge to connect")

    def close(self) -> None:
        self.site_broker.stop()
        self.central_broker.stop()


def _broker(*argv: str) -> None:
    status = broker_cli.run(argv)
    if status != 0:
        raise RuntimeError(f"brexit broker {' '.join(argv)} exited {status}")


@cache
def clientid_plugin() -> Path:
    """The client-id plugin, built once per test session (needs mosquitto-dev, see setup.sh)."""
    return build_plugin(Path(tempfile.mkdtemp(prefix="brexit-plugin-")))


def _tuning_args() -> list[str]:
    # Save the persistence file on every change: the tests SIGKILL brokers.
    return ["--run-user", getpass.getuser(), "--autosave-interval", "1", "--autosave-on-changes",
            "--plugin", str(clientid_plugin())]


def provisioned_pair(
    tmp_path: Path,
    site: str = "janti",
    nodes: Sequence[str] = ("kiosk-1", "caller-1"),
    other_site: str = "arjuno",
    other_nodes: Sequence[str] = ("kiosk-1",),
) -> BrokerPair:
    """Provision with ``brexit broker``, start central then site, wait for the bridge."""
    root = tmp_path / "brokers"
    ca, central_dir = root / "ca", root / "central"
    lan, tls, central_port = free_port(), free_port(), free_port()
    _broker("ca", "--out", str(ca))
    for s, ns, ports in ((site, nodes, (lan, tls)), (other_site, other_nodes, (0, 0))):
        _broker("site", "--site", s, "--nodes", ",".join(ns), "--ca", str(ca),
                "--out", str(root / s), "--install-dir", str(root / s),
                "--data-dir", str(root / f"{s}-data"), "--central", f"{HOST}:{central_port}",
                "--lan-port", str(ports[0] or free_port()), "--lan-bind", HOST,
                "--tls-port", str(ports[1] or free_port()), "--tls-bind", HOST,
                "--restart-timeout", "1", "--host", "localhost", "--host", HOST,
                *_tuning_args())
    _broker("central", "--site-dir", str(root / site), "--site-dir", str(root / other_site),
            "--ca", str(ca), "--out", str(central_dir), "--install-dir", str(central_dir),
            "--data-dir", str(root / "central-data"), "--port", str(central_port),
            "--bind", HOST, "--host", "localhost", "--host", HOST, *_tuning_args())
    logins = {
        c.account.username: c.password
        for d in (root / site, root / other_site, central_dir)
        for c in read_credentials(BundleLayout(d).credentials)
    }
    central = Mosquitto(BundleLayout(central_dir).conf, port=central_port,
                        log=root / "central.log")
    site_broker = Mosquitto(BundleLayout(root / site).conf, port=lan, log=root / f"{site}.log")
    pair = BrokerPair(
        site_id=site, nodes=tuple(nodes), other_site=other_site, other_nodes=tuple(other_nodes),
        site_broker=site_broker, central_broker=central,
        site_lan=Address(HOST, lan), site_tls=Address(HOST, tls, ca / "ca.crt"),
        central=Address(HOST, central_port, ca / "ca.crt"), ca_file=ca / "ca.crt",
        site_dir=root / site, central_dir=central_dir, logins=logins,
    )
    for bundle in (root / site, central_dir):
        _broker("install", "--bundle", str(bundle))  # in place: makes the persistence dir
    central.start()
    try:
        site_broker.start()
        pair.wait_bridge_up()
    except BaseException:
        pair.close()
        raise
    return pair


# --- a test MQTT client ----------------------------------------------------------------------

@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    qos: int
    retain: bool


class MqttProbe:
    """A paho 2.x client for tests (MQTT 3.1.1): callbacks only enqueue; the test reads.

    >>> with MqttProbe(pair.central, pair.ncc) as ncc:        # doctest: +SKIP
    ...     ncc.subscribe("brexit/v1/#")
    ...     msg = ncc.expect("brexit/v1/janti/kiosk-1/event")
    """

    def __init__(
        self,
        address: Address,
        login: Login | None = None,
        *,
        client_id: str = "",
        clean_session: bool = True,
    ) -> None:
        self.address = address
        self.messages: queue.Queue[Received] = queue.Queue()
        self._connack: queue.Queue[ReasonCode] = queue.Queue()
        self._acks: queue.Queue[int] = queue.Queue()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean_session,
            protocol=mqtt.MQTTv311,
        )
        if login is not None:
            self.client.username_pw_set(login.username, login.password)
        if address.ca is not None:
            self.client.tls_set(ca_certs=str(address.ca))
        self.client.on_connect = lambda _c, _u, _f, rc, _p: self._connack.put(rc)
        self.disconnects = 0  # times the connection ended, by us or by the broker
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = lambda _c, _u, mid, _rc, _p: self._acks.put(mid)
        self.client.on_message = lambda _c, _u, m: self.messages.put(
            Received(m.topic, bytes(m.payload), m.qos, bool(m.retain))
        )

    def _on_disconnect(
        self, _c: object, _u: object, _f: object, rc: ReasonCode, _p: object
    ) -> None:
        self.disconnects += 1
        self._connack.put(
            rc if rc.is_failure else ReasonCode(PacketTypes.CONNACK, "Unspecified error")
        )

    def connect(self) -> ReasonCode:
        """Connect and return the broker's CONNACK reason code (failure is not raised).

        A connection closed before any CONNACK (e.g. plain MQTT to a TLS port) is a failure.
        """
        self.client.reconnect_delay_set(1, 1)
        self.client.connect(self.address.host, self.address.port, keepalive=30)
        self.client.loop_start()
        return self._connack.get(timeout=START_TIMEOUT_S)

    def __enter__(self) -> MqttProbe:
        rc = self.connect()
        if rc.is_failure:
            self.close()
            raise ConnectionRefusedError(f"{self.address}: {rc}")
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def subscribe(self, topic: str, qos: int = 1) -> None:
        _, mid = self.client.subscribe(topic, qos)
        wait_until(lambda: self._has_ack(mid), f"SUBACK for {topic}")

    def _has_ack(self, mid: int | None) -> bool:
        with suppress(queue.Empty):
            while True:
                if self._acks.get_nowait() == mid:
                    return True
        return False

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> None:
        """Publish and wait for the broker's PUBACK (QoS 1)."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(timeout=MESSAGE_TIMEOUT_S)
        if not info.is_published():
            raise TimeoutError(f"no PUBACK for {topic}")

    def expect(self, topic: str, timeout: float = MESSAGE_TIMEOUT_S) -> Received:
        """The next message on ``topic``; messages on other topics before it are dropped."""
        return self.collect(lambda got: any(m.topic == topic for m in got), timeout)[-1]

    def collect(
        self, done: Callable[[list[Received]], bool], timeout: float = MESSAGE_TIMEOUT_S
    ) -> list[Received]:
        """Messages in arrival order until ``done(received so far)`` is true."""
        got: list[Received] = []
        deadline = time.monotonic() + timeout
        while not done(got):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"gave up; received {[m.topic for m in got]}")
            with suppress(queue.Empty):
                got.append(self.messages.get(timeout=min(remaining, 0.2)))
        return got


def refused(
    address: Address, login: Login | None, *, client_id: str = "", clean_session: bool = True
) -> bool:
    """True if the broker answers this login's CONNECT with a refusal."""
    probe = MqttProbe(address, login, client_id=client_id, clean_session=clean_session)
    try:
        return probe.connect().is_failure
    except (ConnectionError, OSError):
        return True
    finally:
        probe.close()


# --- NATS JetStream cluster with the MQTT gateway ----------------------------------------------

@dataclass(frozen=True)
class NatsServer:
    spec: NatsNode
    config: Path
    log: Path

    @property
    def mqtt(self) -> Address:
        return Address(self.spec.host, self.spec.mqtt_port)


class NatsCluster:
    """Three nats-server processes forming one JetStream cluster, MQTT on each.

    >>> with NatsCluster(tmp_path, users={"ncc": "secret"}) as cluster:  # doctest: +SKIP
    ...     cluster.servers[0].mqtt, cluster.servers[2].mqtt
    """

    def __init__(self, root: Path, users: dict[str, str], size: int = 3) -> None:
        self.root, self.users = root, dict(users)
        self.servers = self._render(size)
        self._procs: list[subprocess.Popen[bytes]] = []

    def _render(self, size: int) -> list[NatsServer]:
        ports = [(free_port(), free_port(), free_port(), free_port()) for _ in range(size)]
        servers = []
        for i, (client, cluster, mqtt_port, http_port) in enumerate(ports):
            spec = NatsNode(
                name=f"n{i + 1}", client_port=client, cluster_port=cluster, mqtt_port=mqtt_port,
                http_port=http_port, routes=tuple(p[1] for j, p in enumerate(ports) if j != i),
                store_dir=self.root / f"n{i + 1}" / "store", users=tuple(self.users.items()),
            )
            conf = self.root / f"n{i + 1}" / "nats.conf"
            conf.parent.mkdir(parents=True, exist_ok=True)
            conf.write_text(render_nats_conf(spec), encoding="utf-8")
            os.chmod(conf, 0o600)
            servers.append(NatsServer(spec, conf, conf.parent / "nats.log"))
        return servers

    def start(self) -> None:
        for s in self.servers:
            with s.log.open("ab") as log:
                self._procs.append(subprocess.Popen(
                    ["nats-server", "-c", str(s.config)], stdout=log, stderr=subprocess.STDOUT
                ))
        for server in self.servers:
            wait_until(partial(self._healthy, server), f"{server.spec.name} JetStream", 60)

    def _healthy(self, s: NatsServer) -> bool:
        for proc, server in zip(self._procs, self.servers, strict=True):
            if proc.poll() is not None:
                log = server.log.read_text(errors="replace")
                raise RuntimeError(f"nats-server {server.spec.name} exited: {log}")
        conn = http.client.HTTPConnection(s.spec.host, s.spec.http_port, timeout=1)
        try:
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def stream_replicas(self) -> dict[str, int]:
        """Replica count of every JetStream stream (the MQTT gateway's are ``$MQTT_*``)."""
        spec = self.servers[0].spec
        url = f"http://{spec.host}:{spec.http_port}/jsz?accounts=1&streams=1&config=1"
        with urllib.request.urlopen(url, timeout=5) as response:
            report = json.load(response)
        return {
            stream["name"]: stream["config"]["num_replicas"]
            for account in report.get("account_details", [])
            for stream in account.get("stream_detail", [])
        }

    def stop(self) -> None:
        for proc in self._procs:
            proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(timeout=START_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()

    def __enter__(self) -> NatsCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_mqtt_ready(address: Address, login: Login) -> None:
    """Wait until the MQTT gateway at ``address`` accepts ``login`` (JetStream assets exist)."""

    def ok() -> bool:
        try:
            return not refused(address, login)
        except TimeoutError:
            return False

    wait_until(ok, f"MQTT on {address}", 60)
