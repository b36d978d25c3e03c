"""The fleet inventory (``deploy/fleet.toml``): every puskesmas, its nodes, services, counters.

Everything that names a site or a node derives from it: node configs, broker bundles,
seeds, button labels, the NCC's list of sites, the fleet simulator. ``load_fleet`` refuses
a file whose *shape* is wrong (first bad field); ``check_fleet`` then lists every
*consistency* problem, one line each (``brexit fleet check``).

>>> fleet = parse_fleet({"central": {"host": "ncc.example", "port": 8883},
...     "defaults": {"services": [{"code": "A", "name": "Poli Umum"}],
...                  "counters": [{"number": 1, "services": ["A"]}]},
...     "site": [{"id": "janti", "name": "UPT Puskesmas Janti", "kecamatan": "Sukun",
...               "nodes": [{"id": "kios-1", "roles": ["kiosk", "broker"]}]}]})
>>> fleet.site("janti").node("kios-1").roles
('kiosk', 'broker')
>>> fleet.site("janti").services[0].name
'Poli Umum'
>>> fleet.site("janti").broker_host
'janti-kios-1.local'
>>> check_fleet(fleet)
('janti: counter 1 has no caller node',)
>>> parse_fleet({"site": [{"id": "Janti"}]})
Traceback (most recent call last):
...
contract.fleet.FleetError: site[0].id: 'Janti' is not an id ([a-z0-9][a-z0-9-]{0,31})
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections import Counter as Tally
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contract.topics import is_valid_id

ROLES = frozenset({"kiosk", "caller", "pharmacy", "broker"})
RESERVED_SITES = frozenset({"ncc"})  # brexit/v1/ncc/... is the NCC's own namespace
DEFAULT_NTP = ("0.id.pool.ntp.org", "1.id.pool.ntp.org", "2.id.pool.ntp.org")
DEVICES = ("printer", "embosser", "cells")


class FleetError(ValueError):
    """The inventory cannot be used; the message starts with the field (``site[3].nodes``)."""


class NetworkMode(Enum):
    DHCP = "dhcp"
    STATIC = "static"


@dataclass(frozen=True)
class Service:
    code: str
    name: str


@dataclass(frozen=True)
class Counter:
    number: int
    services: tuple[str, ...]


@dataclass(frozen=True)
class Network:
    """How a site's nodes reach the LAN: DHCP or static addresses, wired or Wi-Fi.

    The Wi-Fi password is not in the inventory (it is a secret); ``brexit provision``
    takes it from a file.
    """

    mode: NetworkMode = NetworkMode.DHCP
    gateway: str | None = None
    prefix: int = 24
    dns: tuple[str, ...] = ()
    wifi_ssid: str | None = None
    broker_host: str | None = None  # overrides the broker node's address or mDNS name


@dataclass(frozen=True)
class FleetNode:
    id: str
    roles: tuple[str, ...]
    counters: tuple[int, ...] = ()
    address: str | None = None  # static networks: the node's IPv4 address
    devices: Mapping[str, str] = field(default_factory=dict)  # printer/embosser/cells URL


@dataclass(frozen=True)
class Site:
    id: str
    name: str
    kecamatan: str
    nodes: tuple[FleetNode, ...]
    services: tuple[Service, ...]
    counters: tuple[Counter, ...]
    network: Network = field(default_factory=Network)

    def node(self, node_id: str) -> FleetNode:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise FleetError(f"site {self.id}: no node {node_id!r}")

    def hostname(self, node: FleetNode) -> str:
        """The node's host name, unique in the fleet: ``dinoyo-kios-1``."""
        return f"{self.id}-{node.id}"

    @property
    def broker_nodes(self) -> tuple[FleetNode, ...]:
        return tuple(n for n in self.nodes if "broker" in n.roles)

    @property
    def broker_host(self) -> str | None:
        """Where the site's nodes find the site broker (static address or mDNS name)."""
        if self.network.broker_host:
            return self.network.broker_host
        if len(self.broker_nodes) != 1:
            return None
        broker = self.broker_nodes[0]
        if self.network.mode is NetworkMode.STATIC and broker.address:
            return broker.address
        return f"{self.hostname(broker)}.local"


@dataclass(frozen=True)
class Central:
    host: str
    port: int


@dataclass(frozen=True)
class Fleet:
    central: Central
    sites: tuple[Site, ...]
    timezone: str = "Asia/Jakarta"
    locale: str = "id_ID.UTF-8"
    ntp: tuple[str, ...] = DEFAULT_NTP

    def site(self, site_id: str) -> Site:
        for s in self.sites:
            if s.id == site_id:
                return s
        raise FleetError(f"no site {site_id!r} in the fleet")


def default_path() -> Path:
    """``deploy/fleet.toml`` under the current directory (the technician's checkout)."""
    return Path("deploy") / "fleet.toml"


def load_fleet(path: Path | None = None) -> Fleet:
    """Read the inventory and check its shape; FleetError names the file and the field."""
    path = path or default_path()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise FleetError(f"{path}: cannot read: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise FleetError(f"{path}: not TOML: {e}") from None
    return parse_fleet(raw)


def parse_fleet(raw: Mapping[str, Any]) -> Fleet:
    central = _mapping(raw.get("central", {}), "central")
    defaults = _mapping(raw.get("defaults", {}), "defaults")
    sites = _list(raw.get("site", []), "site")
    ntp = _list(defaults.get("ntp", list(DEFAULT_NTP)), "defaults.ntp")
    shared = _Defaults.of(defaults)
    return Fleet(
        central=Central(
            host=_str(central.get("host", "127.0.0.1"), "central.host"),
            port=_int(central.get("port", 8883), "central.port"),
        ),
        sites=tuple(_site(s, f"site[{i}]", shared) for i, s in enumerate(sites)),
        timezone=_str(defaults.get("timezone", "Asia/Jakarta"), "defaults.timezone"),
        locale=_str(defaults.get("locale", "id_ID.UTF-8"), "defaults.locale"),
        ntp=tuple(_str(s, "defaults.ntp") for s in ntp),
    )


@dataclass(frozen=True)
class _Defaults:
    """The [defaults] services and counters, parsed once for every site that uses them."""

    services: tuple[Service, ...]
    counters: tuple[Counter, ...]

    @classmethod
    def of(cls, defaults: Mapping[str, Any]) -> _Defaults:
        services = _list(defaults.get("services", []), "defaults.services")
        counters = _list(defaults.get("counters", []), "defaults.counters")
        return cls(
            tuple(_service(v, f"defaults.services[{i}]") for i, v in enumerate(services)),
            tuple(_counter(c, f"defaults.counters[{i}]") for i, c in enumerate(counters)))


def _site(raw: object, where: str, defaults: _Defaults) -> Site:
    s = _mapping(raw, where)
    site_id = _id(s.get("id"), f"{where}.id")
    return Site(
        id=site_id,
        name=_str(s.get("name"), f"{where}.name"),
        kecamatan=_str(s.get("kecamatan"), f"{where}.kecamatan"),
        nodes=tuple(
            _node(n, f"{where}.nodes[{i}]")
            for i, n in enumerate(_list(s.get("nodes", []), f"{where}.nodes"))
        ),
        services=defaults.services if "services" not in s else tuple(
            _service(v, f"{where}.services[{i}]")
            for i, v in enumerate(_list(s["services"], f"{where}.services"))),
        counters=defaults.counters if "counters" not in s else tuple(
            _counter(c, f"{where}.counters[{i}]")
            for i, c in enumerate(_list(s["counters"], f"{where}.counters"))),
        network=_network(s.get("network", {"mode": "dhcp"}), f"{where}.network"),
    )


def _network(raw: object, where: str) -> Network:
    n = _mapping(raw, where)
    mode_text = _str(n.get("mode", "dhcp"), f"{where}.mode")
    try:
        mode = NetworkMode(mode_text)
    except ValueError:
        raise FleetError(f"{where}.mode: {mode_text!r} is not dhcp or static") from None
    wifi = _mapping(n.get("wifi", {}), f"{where}.wifi")
    dns = _list(n.get("dns", []), f"{where}.dns")
    return Network(
        mode=mode,
        gateway=_opt_str(n.get("gateway"), f"{where}.gateway"),
        prefix=_int(n.get("prefix", 24), f"{where}.prefix"),
        dns=tuple(_str(d, f"{where}.dns") for d in dns),
        wifi_ssid=_opt_str(wifi.get("ssid"), f"{where}.wifi.ssid"),
        broker_host=_opt_str(n.get("broker_host"), f"{where}.broker_host"),
    )


def _node(raw: object, where: str) -> FleetNode:
    n = _mapping(raw, where)
    roles = tuple(_str(r, f"{where}.roles") for r in _list(n.get("roles"), f"{where}.roles"))
    unknown = sorted(set(roles) - ROLES)
    if unknown:
        raise FleetError(f"{where}.roles: unknown role {unknown[0]!r} (one of {sorted(ROLES)})")
    counters = tuple(
        _int(c, f"{where}.counters") for c in _list(n.get("counters", []), f"{where}.counters")
    )
    devices = _mapping(n.get("devices", {}), f"{where}.devices")
    for name in devices:
        if name not in DEVICES:
            raise FleetError(f"{where}.devices: unknown device {name!r} (one of {list(DEVICES)})")
    return FleetNode(
        id=_id(n.get("id"), f"{where}.id"),
        roles=roles,
        counters=counters,
        address=_opt_str(n.get("address"), f"{where}.address"),
        devices={k: _str(v, f"{where}.devices.{k}") for k, v in devices.items()},
    )


def _service(raw: object, where: str) -> Service:
    s = _mapping(raw, where)
    code = _str(s.get("code"), f"{where}.code")
    return Service(code=code, name=_str(s.get("name"), f"{where}.name"))


def _counter(raw: object, where: str) -> Counter:
    c = _mapping(raw, where)
    services = tuple(
        _str(v, f"{where}.services") for v in _list(c.get("services"), f"{where}.services")
    )
    return Counter(number=_int(c.get("number"), f"{where}.number"), services=services)


# --- consistency ------------------------------------------------------------------------

def check_fleet(fleet: Fleet) -> tuple[str, ...]:
    """Every consistency problem of the inventory, one line each; empty when it is usable."""
    return tuple(_fleet_problems(fleet))


def _fleet_problems(fleet: Fleet) -> Iterator[str]:
    c = fleet.central
    if not 0 < c.port < 65536:
        yield f"central.port: {c.port} is not a TCP port"
    try:
        ZoneInfo(fleet.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        yield f"defaults.timezone: {fleet.timezone!r} is not a time zone"
    if not fleet.ntp:
        yield "defaults.ntp: at least one NTP server is needed (a Pi has no clock)"
    yield from _twice((s.id for s in fleet.sites), "site id {!r} is used by more than one site")
    hostnames = (s.hostname(n) for s in fleet.sites for n in s.nodes)
    yield from _twice(hostnames, "host name {!r} is used by more than one node")
    for site in fleet.sites:
        yield from (f"{site.id}: {p}" for p in _site_problems(site))


def _site_problems(site: Site) -> Iterator[str]:
    if site.id in RESERVED_SITES:
        yield f"site id {site.id!r} is reserved (brexit/v1/ncc/ is the NCC's namespace)"
    if not site.nodes:
        yield "no nodes"
    yield from _twice((n.id for n in site.nodes), "node id {!r} is used twice")
    yield from _twice((s.code for s in site.services), "service code {!r} is used twice")
    yield from _twice((c.number for c in site.counters), "counter {} is listed twice")
    yield from _service_problems(site)
    yield from _broker_problems(site)
    yield from _network_problems(site)
    for node in site.nodes:
        yield from (f"{node.id}: {p}" for p in _node_problems(site, node))


def _service_problems(site: Site) -> Iterator[str]:
    codes = {s.code for s in site.services}
    for s in site.services:
        if len(s.code) != 1 or not s.code.isascii() or not s.code.isupper():
            yield f"service code {s.code!r} is not one capital letter"
    for counter in site.counters:
        for code in counter.services:
            if code not in codes:
                yield f"counter {counter.number} calls service {code!r}, which the site lacks"
        if not counter.services:
            yield f"counter {counter.number} calls no service"
    called = {n for node in site.nodes if "caller" in node.roles for n in node.counters}
    for counter in site.counters:
        if counter.number not in called:
            yield f"counter {counter.number} has no caller node"


def _broker_problems(site: Site) -> Iterator[str]:
    brokers = site.broker_nodes
    if len(brokers) != 1:
        names = ", ".join(n.id for n in brokers) or "none"
        yield f"exactly one node must have the broker role (found: {names})"


def _network_problems(site: Site) -> Iterator[str]:
    net = site.network
    if net.wifi_ssid is not None and not 0 < len(net.wifi_ssid.encode()) <= 32:
        yield f"network.wifi.ssid: {net.wifi_ssid!r} is longer than 32 bytes"
    if net.mode is NetworkMode.DHCP:
        for node in site.nodes:
            if node.address:
                yield f"{node.id}: address {node.address} given but the network uses DHCP"
        return
    if not 0 < net.prefix <= 32:
        yield f"network.prefix: {net.prefix} is not between 1 and 32"
        return
    subnet = _subnet(net.gateway, net.prefix)
    if subnet is None:
        yield f"network.gateway: {net.gateway!r} is not an IPv4 address (needed for static)"
    for d in net.dns:
        if _ipv4(d) is None:
            yield f"network.dns: {d!r} is not an IPv4 address"
    yield from _twice((n.address for n in site.nodes if n.address), "address {} is used twice")
    for node in site.nodes:
        address = _ipv4(node.address)
        if address is None:
            yield f"{node.id}: address {node.address!r} is not an IPv4 address (network is static)"
        elif subnet is not None and address not in subnet:
            yield f"{node.id}: address {address} is outside {subnet}"


def _node_problems(site: Site, node: FleetNode) -> Iterator[str]:
    if len(site.hostname(node)) > 63:
        yield f"host name {site.hostname(node)!r} is longer than 63 characters"
    if not set(node.roles) - {"broker"}:
        yield "needs a kiosk, caller or pharmacy role (broker alone runs no node)"
    if {"kiosk", "caller"} <= set(node.roles):
        yield "kiosk and caller use the same GPIO lines; give each its own node"
    numbers = {c.number for c in site.counters}
    for n in node.counters:
        if n not in numbers:
            yield f"counter {n} is not one of the site's counters"
    if "caller" in node.roles and not node.counters:
        yield "the caller role needs at least one counter"
    if node.counters and "caller" not in node.roles:
        yield "counters are only for a node with the caller role"


def _twice(values: Iterable[Any], message: str) -> Iterator[str]:
    for value, count in Tally(values).items():
        if count > 1:
            yield message.format(value)


def _ipv4(text: str | None) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(text or "")
    except ValueError:
        return None


def _subnet(gateway: str | None, prefix: int) -> ipaddress.IPv4Network | None:
    address = _ipv4(gateway)
    if address is None:
        return None
    return ipaddress.IPv4Network(f"{address}/{prefix}", strict=False)


# --- shape helpers ----------------------------------------------------------------------

def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise FleetError(f"{where}: expected a table")
    return value


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise FleetError(f"{where}: expected a list")
    return value


def _str(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FleetError(f"{where}: expected a non-empty string")
    return value


def _opt_str(value: object, where: str) -> str | None:
    return None if value is None else _str(value, where)


def _int(value: object, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise FleetError(f"{where}: expected an integer")
    return value


def _id(value: object, where: str) -> str:
    if not isinstance(value, str) or not is_valid_id(value):
        raise FleetError(f"{where}: {value!r} is not an id ([a-z0-9][a-z0-9-]{{0,31}})")
    return value
