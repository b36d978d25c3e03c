"""Broker provisioning, the pure part: accounts, ACLs, configs and credentials as text.

Nothing here touches the disk or runs a program; ``mqtt_config.pki`` does that and
``mqtt_config.cli`` puts the pieces together. Every account has its own username,
chosen so that no two kinds can ever collide (ids cannot contain a dot):

>>> [a.username for a in site_accounts("janti", ("kiosk-1",))]
['node.janti.kiosk-1', 'staff.janti', 'bridge.janti']
>>> print(acl_block(Account(AccountKind.STAFF, "janti")).splitlines()[1])
user staff.janti
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import Any

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
# "ncc" is a topic level of its own (brexit/v1/ncc/...), so no site may be called that.
RESERVED_SITES = frozenset({"ncc"})
TEMPLATE_DIR = Path(str(files("mqtt_config")))
MESSAGE_SIZE_LIMIT = 16 * 1024  # bytes of payload; the largest contract message is ~2 KiB
MESSAGE_SIZE_MIN = 1024
MESSAGE_SIZE_MAX = 268_435_455 - 1024  # MQTT's largest packet, less the overhead below
PACKET_OVERHEAD = 1024
# Built on the broker host by `brexit broker plugin` (setup.sh does it).
DEFAULT_PLUGIN = Path("/usr/local/lib/brexit/mosquitto_brexit_clientid.so")


class ProvisionError(ValueError):
    """Input that cannot be provisioned; the message names the field."""


class AccountKind(Enum):
    NODE = "node"  # a Pi of one puskesmas: writes only under brexit/v1/{site}/{node}/
    STAFF = "staff"  # counter staff / site operators: commands to their own site only
    BRIDGE = "bridge"  # the site broker's bridge, as seen by the central broker
    NCC = "ncc"  # the Ngalam Command Center monitor


@dataclass(frozen=True)
class Account:
    """One broker login.

    >>> Account(AccountKind.NODE, "janti", "kiosk-1").username
    'node.janti.kiosk-1'
    """

    kind: AccountKind
    site: str | None = None
    node: str | None = None

    @property
    def username(self) -> str:
        parts = [self.kind.value, self.site, self.node]
        return ".".join(p for p in parts if p)


@dataclass(frozen=True)
class Credential:
    """An account and its password, as written to the technician's credentials file."""

    account: Account
    password: str


def check_id(value: object, field: str) -> str:
    """Return ``value`` if it is a valid site or node id; otherwise raise, naming ``field``."""
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise ProvisionError(f"{field}: {value!r} does not match {ID_PATTERN.pattern}")
    return value


def check_site(value: object, field: str = "site") -> str:
    site = check_id(value, field)
    if site in RESERVED_SITES:
        raise ProvisionError(f"{field}: {site!r} is reserved (brexit/v1/{site}/ is the NCC's)")
    return site


SITE_NAME_MAX = 80
DNS_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def check_site_name(value: object, field: str = "site_name") -> str:
    """A puskesmas's name: printable text on one line (it is written into configs)."""
    if not isinstance(value, str) or not value.strip():
        raise ProvisionError(f"{field}: {value!r} is not a name")
    if len(value) > SITE_NAME_MAX:
        raise ProvisionError(f"{field}: longer than {SITE_NAME_MAX} characters")
    bad = next((c for c in value if not c.isprintable()), None)
    if bad is not None:
        raise ProvisionError(f"{field}: {value!r} contains the control character {bad!r}")
    return value


def check_port(value: object, field: str) -> int:
    """A TCP port, 1 to 65535.

    >>> check_port("8883", "--tls-port")
    8883
    """
    port = _int(value, field)
    if not 0 < port < 65536:
        raise ProvisionError(f"{field}: port {port} is not in 1..65535")
    return port


COUNT_MAX = 2**31 - 1  # Mosquitto reads its counts as C ints


def check_count(value: object, field: str, minimum: int = 0) -> int:
    number = _int(value, field)
    if number < minimum:
        raise ProvisionError(f"{field}: {number} is below {minimum}")
    if number > COUNT_MAX:
        raise ProvisionError(f"{field}: {number} is above {COUNT_MAX}")
    return number


def _int(value: object, field: str) -> int:
    try:
        return int(str(value).strip(), 10)
    except ValueError:
        raise ProvisionError(f"{field}: {value!r} is not a whole number") from None


def check_path(value: Path, field: str) -> Path:
    """A path written into a config: printable, on one line."""
    if not str(value).isprintable():
        raise ProvisionError(f"{field}: {str(value)!r} contains a control character")
    return value


def check_bind(value: object, field: str) -> str:
    """A listener's bind address: an IPv4 or IPv6 address (0.0.0.0 = every interface)."""
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        raise ProvisionError(f"{field}: {value!r} is not an IP address") from None


def check_host(value: object, field: str) -> str:
    """A DNS name (RFC 1123 labels) or an IP address.

    >>> check_host("ncc.malangkota.go.id", "--host")
    'ncc.malangkota.go.id'
    """
    text = str(value)
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    labels = text[:-1].split(".") if text.endswith(".") else text.split(".")
    if len(text) > 253 or not all(DNS_LABEL.fullmatch(label) for label in labels):
        raise ProvisionError(f"{field}: {text!r} is neither a DNS name nor an IP address")
    return text


def check_restart_timeout(value: object, field: str = "--restart-timeout") -> str:
    """Mosquitto's ``restart_timeout``: ``SECONDS``, or ``BASE CAP`` (back-off, BASE <= CAP).

    >>> check_restart_timeout(" 5  30 ")
    '5 30'
    """
    parts = str(value).split()
    numbers = [int(p) for p in parts if p.isdigit()]
    if not 1 <= len(parts) <= 2 or len(numbers) != len(parts) or min(numbers) < 1 or (
        len(numbers) == 2 and numbers[0] > numbers[1]
    ):
        raise ProvisionError(f"{field}: {value!r} is not SECONDS or 'BASE CAP' (1 <= BASE <= CAP)")
    return " ".join(str(n) for n in numbers)


def site_accounts(site: str, nodes: Iterable[str]) -> list[Account]:
    """Every account the site broker knows: its nodes, its staff, and its bridge."""
    node_accounts = [Account(AccountKind.NODE, site, n) for n in nodes]
    return [*node_accounts, Account(AccountKind.STAFF, site), Account(AccountKind.BRIDGE, site)]


# --- ACL ---------------------------------------------------------------------------------

def _rules(account: Account) -> list[tuple[str, str]]:
    site, node = account.site, account.node
    if account.kind is AccountKind.NODE:
        own = f"brexit/v1/{site}/{node}"
        return [
            ("readwrite", f"{own}/status"),  # readable so a node can see its last session
            ("write", f"{own}/health"),
            ("write", f"{own}/event"),
            ("write", f"{own}/reply"),
            ("read", f"{own}/cmd/#"),
            ("readwrite", f"brexit/v1/{site}/queue"),  # any node of the site; see docs
            ("read", f"brexit/v1/ncc/ack/{site}/{node}"),
            ("read", "brexit/v1/ncc/status"),
        ]
    if account.kind is AccountKind.STAFF:
        return [
            ("write", f"brexit/v1/{site}/+/cmd/#"),
            *[("read", f"brexit/v1/{site}/+/{leaf}") for leaf in _NODE_LEAVES],
            ("read", f"brexit/v1/{site}/queue"),
            ("read", "$SYS/broker/connection/#"),  # is the site's link to the NCC up?
        ]
    if account.kind is AccountKind.BRIDGE:
        return [
            *[("write", topic) for topic in bridge_topics_out(site or "")],
            *[("read", topic) for topic in bridge_topics_in(site or "")],
        ]
    return [
        ("read", "brexit/v1/#"),
        ("write", "brexit/v1/ncc/status"),
        ("write", "brexit/v1/ncc/ack/#"),
        ("write", "brexit/v1/+/+/cmd/#"),
    ]


_NODE_LEAVES = ("status", "health", "event", "reply")


def bridge_topics_out(site: str) -> list[str]:
    """Topics the bridge carries from the site up to the central broker."""
    return [*(f"brexit/v1/{site}/+/{leaf}" for leaf in _NODE_LEAVES), f"brexit/v1/{site}/queue"]


def bridge_topics_in(site: str) -> list[str]:
    """Topics the bridge carries from the central broker down to the site."""
    return [f"brexit/v1/{site}/+/cmd/#", f"brexit/v1/ncc/ack/{site}/#", "brexit/v1/ncc/status"]


# --- client ids ------------------------------------------------------------------------------

ANY_LOGIN = "*"
AUTO_CLIENT_IDS = "auto-*"  # what Mosquitto names a client that sends no id (random UUID)


def client_ids(account: Account) -> tuple[str, ...]:
    """The client ids (``*`` at the end: a prefix) that only ``account`` may connect with.

    Its username, and for a node and the NCC the ids their programs use (``edge.mqtt.link``:
    ``brexit-{site}-{node}``, ``ncc.ingest``: ``brexit-ncc``); each also with ``-`` and any
    suffix, for a second tool on the same machine. The bridge uses exactly its username.

    >>> client_ids(Account(AccountKind.NODE, "janti", "kiosk-1"))[:2]
    ('brexit-janti-kiosk-1', 'brexit-janti-kiosk-1-*')
    """
    own = (account.username, f"{account.username}-*")
    if account.kind is AccountKind.NODE:
        program = f"brexit-{account.site}-{account.node}"
        return (program, f"{program}-*", *own)
    if account.kind is AccountKind.NCC:
        return ("brexit-ncc", "brexit-ncc-*", *own)
    if account.kind is AccountKind.BRIDGE:
        return (account.username,)
    return own


def render_client_ids(accounts: Iterable[Account], title: str) -> str:
    """The ``clientids`` file read by the client-id plugin (``clientid_plugin.c``).

    One ``PATTERN LOGIN`` per line; the longest matching pattern owns a client id, so
    ``brexit-janti-kiosk-1-2`` is node ``kiosk-1-2``'s even though ``kiosk-1`` owns
    ``brexit-janti-kiosk-1-*``. An id nobody owns is refused.
    """
    lines = [
        f"# BREXIT client ids for {title}. Rendered by `brexit broker`; do not edit.",
        "# PATTERN LOGIN: only LOGIN may connect with a client id matching PATTERN",
        "# ('*' at the end: any suffix; the longest pattern decides; LOGIN '*': anyone).",
        f"{AUTO_CLIENT_IDS} {ANY_LOGIN}",
    ]
    lines += [f"{cid} {a.username}" for a in accounts for cid in client_ids(a)]
    return "\n".join(lines) + "\n"


def acl_block(account: Account) -> str:
    """The Mosquitto ACL lines for one account (an explicit ``user`` block)."""
    lines = [f"# {account.kind.value}", f"user {account.username}"]
    lines += [f"topic {access} {topic}" for access, topic in _rules(account)]
    return "\n".join(lines) + "\n"


def render_acl(accounts: Iterable[Account], title: str) -> str:
    """A whole ACL file. Anything not listed is denied, and anonymous clients get nothing."""
    header = f"# BREXIT ACL for {title}. Rendered by `brexit broker`; do not edit.\n"
    return header + "".join("\n" + acl_block(a) for a in accounts)


# --- credentials ---------------------------------------------------------------------------

def render_credentials(credentials: Iterable[Credential], title: str) -> str:
    """The technician's credentials file (TOML). It is the only place passwords appear."""
    out = [f"# BREXIT broker credentials for {title}. Secret: keep it 0600, never print it.\n"]
    for c in credentials:
        out.append("\n[[account]]\n")
        out.append(f'username = "{c.account.username}"\n')
        out.append(f'password = "{c.password}"\n')
        out.append(f'kind = "{c.account.kind.value}"\n')
        if c.account.site:
            out.append(f'site = "{c.account.site}"\n')
        if c.account.node:
            out.append(f'node = "{c.account.node}"\n')
    return "".join(out)


def parse_credentials(text: str) -> list[Credential]:
    """Read back what ``render_credentials`` wrote."""
    rows: list[dict[str, Any]] = tomllib.loads(text).get("account", [])
    return [
        Credential(Account(AccountKind(r["kind"]), r.get("site"), r.get("node")), r["password"])
        for r in rows
    ]


def render_password_source(credentials: Iterable[Credential]) -> str:
    """Plain ``username:password`` lines, to be hashed in place by ``mosquitto_passwd -U``."""
    return "".join(f"{c.account.username}:{c.password}\n" for c in credentials)


# --- node list -----------------------------------------------------------------------------

@dataclass(frozen=True)
class SiteInventory:
    """A puskesmas as the brokers see it: its id, its name and its nodes.

    >>> SiteInventory.from_node_configs([{"site": "janti", "node": "kiosk-1", "roles": []}])
    SiteInventory(site='janti', name='janti', nodes=('kiosk-1',))
    """

    site: str
    name: str
    nodes: tuple[str, ...]

    @classmethod
    def from_node_configs(cls, docs: Iterable[Mapping[str, Any]]) -> SiteInventory:
        sites: set[str] = set()
        nodes: list[str] = []
        name = ""
        for i, doc in enumerate(docs):
            sites.add(check_site(doc.get("site"), f"config[{i}].site"))
            nodes.append(check_id(doc.get("node"), f"config[{i}].node"))
            name = name or _site_name(doc, f"config[{i}]")
        if len(sites) != 1:
            raise ProvisionError(f"site: node configs name {len(sites)} sites {sorted(sites)}")
        site = sites.pop()
        return cls.of(site, nodes, name or site)

    @classmethod
    def of(cls, site: str, nodes: Iterable[str], name: str | None = None) -> SiteInventory:
        checked = tuple(check_id(n, "node") for n in nodes)
        if not checked:
            raise ProvisionError("nodes: a site needs at least one node")
        if len(set(checked)) != len(checked):
            raise ProvisionError(f"nodes: duplicate node ids in {list(checked)}")
        return cls(check_site(site), check_site_name(name or site), checked)


def _site_name(doc: Mapping[str, Any], where: str) -> str:
    info = doc.get("site_info")
    if isinstance(info, Mapping) and "name" in info:
        return check_site_name(info["name"], f"{where}.site_info.name")
    if "site_name" in doc:
        return check_site_name(doc["site_name"], f"{where}.site_name")
    return ""


# --- configs -------------------------------------------------------------------------------

@dataclass(frozen=True)
class BrokerTuning:
    """Knobs that differ between a test run and production.

    ``restart_timeout`` is Mosquitto's bridge back-off ("5 30" = jitter from 5 s up to 30 s;
    "1" = a constant second, for tests). ``autosave_on_changes`` with ``autosave_interval`` 1
    writes the persistence file after every change (tests that SIGKILL a broker need that).
    """

    run_user: str = "mosquitto"
    restart_timeout: str = "5 30"
    max_queued_messages: int = 1_000_000
    autosave_interval: int = 60
    autosave_on_changes: bool = False
    try_private: bool = True
    message_size_limit: int = MESSAGE_SIZE_LIMIT
    clientid_plugin: Path = DEFAULT_PLUGIN

    def __post_init__(self) -> None:
        check_restart_timeout(self.restart_timeout)
        check_count(self.max_queued_messages, "--max-queued")
        check_count(self.autosave_interval, "--autosave-interval")
        check_count(self.message_size_limit, "--message-size-limit", MESSAGE_SIZE_MIN)
        if self.message_size_limit > MESSAGE_SIZE_MAX:
            raise ProvisionError(f"--message-size-limit: above MQTT's {MESSAGE_SIZE_MAX}")
        if not self.run_user or not self.run_user.isprintable() or " " in self.run_user:
            raise ProvisionError(f"--run-user: {self.run_user!r} is not a user name")
        plugin = str(self.clientid_plugin)
        if not plugin.endswith(".so") or not plugin.isprintable() or " " in plugin:
            raise ProvisionError(f"--plugin: {plugin!r} is not a shared library path (*.so)")

    @property
    def max_packet_size(self) -> int:
        """Room for the topic and the MQTT header above the payload limit."""
        return self.message_size_limit + PACKET_OVERHEAD


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    @classmethod
    def parse(cls, text: str, field: str) -> Endpoint:
        host, sep, port = text.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ProvisionError(f"{field}: {text!r} is not HOST:PORT")
        return cls(check_host(host.removeprefix("[").removesuffix("]"), field), int(port))


@dataclass(frozen=True)
class SiteBroker:
    """Everything the site broker's mosquitto.conf says."""

    inventory: SiteInventory
    central: Endpoint
    bridge_password: str
    install_dir: Path  # where passwd, acl, certs live on the Pi
    data_dir: Path  # persistence
    lan_port: int = 1883
    lan_bind: str = "0.0.0.0"
    tls_port: int = 8883
    tls_bind: str = "0.0.0.0"
    tuning: BrokerTuning = BrokerTuning()

    def __post_init__(self) -> None:
        check_path(self.install_dir, "--install-dir")
        check_path(self.data_dir, "--data-dir")
        check_port(self.lan_port, "--lan-port")
        check_port(self.tls_port, "--tls-port")
        check_bind(self.lan_bind, "--lan-bind")
        check_bind(self.tls_bind, "--tls-bind")
        if self.lan_port == self.tls_port:
            raise ProvisionError(f"--tls-port: {self.tls_port} is also --lan-port")


@dataclass(frozen=True)
class CentralBroker:
    """Everything the central broker's mosquitto.conf says."""

    sites: tuple[str, ...]
    install_dir: Path
    data_dir: Path
    tls_port: int = 8883
    tls_bind: str = "0.0.0.0"
    tuning: BrokerTuning = BrokerTuning()

    def __post_init__(self) -> None:
        check_path(self.install_dir, "--install-dir")
        check_path(self.data_dir, "--data-dir")
        check_port(self.tls_port, "--port")
        check_bind(self.tls_bind, "--bind")


def _template(name: str, template_dir: Path) -> Template:
    return Template((template_dir / name).read_text(encoding="utf-8"))


def _common(install_dir: Path, data_dir: Path, tuning: BrokerTuning) -> dict[str, str]:
    return {
        "install_dir": str(install_dir),
        "data_dir": str(data_dir),
        "run_user": tuning.run_user,
        "max_queued_messages": str(tuning.max_queued_messages),
        "autosave_interval": str(tuning.autosave_interval),
        "autosave_on_changes": _bool(tuning.autosave_on_changes),
        "clientid_plugin": str(tuning.clientid_plugin),
        "message_size_limit": str(tuning.message_size_limit),
        "max_packet_size": str(tuning.max_packet_size),
    }


def _bool(value: bool) -> str:
    return "true" if value else "false"


def render_site_conf(b: SiteBroker, template_dir: Path = TEMPLATE_DIR) -> str:
    site = b.inventory.site
    topics = [f"topic {t} out 1" for t in bridge_topics_out(site)]
    topics += [f"topic {t} in 1" for t in bridge_topics_in(site)]
    return _template("site.conf.template", template_dir).substitute(
        _common(b.install_dir, b.data_dir, b.tuning),
        site=site,
        site_name=b.inventory.name,
        lan_port=b.lan_port,
        lan_bind=b.lan_bind,
        tls_port=b.tls_port,
        tls_bind=b.tls_bind,
        central_host=b.central.host,
        central_port=b.central.port,
        bridge_username=Account(AccountKind.BRIDGE, site).username,
        bridge_password=b.bridge_password,
        restart_timeout=b.tuning.restart_timeout,
        try_private=_bool(b.tuning.try_private),
        bridge_topics="\n".join(topics),
    )


def render_central_conf(b: CentralBroker, template_dir: Path = TEMPLATE_DIR) -> str:
    return _template("central.conf.template", template_dir).substitute(
        _common(b.install_dir, b.data_dir, b.tuning),
        sites=", ".join(b.sites),
        tls_port=b.tls_port,
        tls_bind=b.tls_bind,
    )


@dataclass(frozen=True)
class NatsNode:
    """One server of a NATS JetStream cluster with its MQTT gateway (see docs/brokers.md)."""

    name: str
    client_port: int
    cluster_port: int
    mqtt_port: int
    http_port: int
    routes: tuple[int, ...]  # cluster ports of the other servers
    store_dir: Path
    users: tuple[tuple[str, str], ...]  # (username, password)
    host: str = "127.0.0.1"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_nats_conf(n: NatsNode, template_dir: Path = TEMPLATE_DIR) -> str:
    users = ",\n    ".join(
        f"{{user: {_quote(u)}, password: {_quote(p)}}}" for u, p in n.users
    )
    routes = ",\n      ".join(f"nats-route://{n.host}:{p}" for p in n.routes)
    return _template("nats-node.conf.template", template_dir).substitute(
        name=n.name,
        host=n.host,
        client_port=n.client_port,
        cluster_port=n.cluster_port,
        mqtt_port=n.mqtt_port,
        http_port=n.http_port,
        store_dir=_quote(str(n.store_dir)),
        routes=routes,
        users=users,
        replicas=min(3, len(n.routes) + 1),
    )
