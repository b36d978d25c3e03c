"""The fleet inventory (``deploy/fleet.toml``): every puskesmas, its nodes, services, counters.

Everything that names a site or a node derives from it: node configs, broker bundles,
seeds, button labels, the NCC's list of sites, the fleet simulator.

>>> fleet = parse_fleet({"central": {"host": "ncc.example", "port": 8883},
...     "defaults": {"services": [{"code": "A", "name": "Poli Umum"}],
...                  "counters": [{"number": 1, "services": ["A"]}]},
...     "site": [{"id": "janti", "name": "UPT Puskesmas Janti", "kecamatan": "Sukun",
...               "nodes": [{"id": "kios-1", "roles": ["kiosk", "broker"]}]}]})
>>> fleet.site("janti").node("kios-1").roles
('kiosk', 'broker')
>>> fleet.site("janti").services[0].name
'Poli Umum'
>>> parse_fleet({"site": [{"id": "Janti"}]})
Traceback (most recent call last):
...
contract.fleet.FleetError: site[0].id: 'Janti' is not an id ([a-z0-9][a-z0-9-]{0,31})
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract.topics import is_valid_id

ROLES = frozenset({"kiosk", "caller", "pharmacy", "broker"})


class FleetError(ValueError):
    """The inventory cannot be used; the message starts with the field (``site[3].nodes``)."""


@dataclass(frozen=True)
class Service:
    code: str
    name: str


@dataclass(frozen=True)
class Counter:
    number: int
    services: tuple[str, ...]


@dataclass(frozen=True)
class FleetNode:
    id: str
    roles: tuple[str, ...]
    counters: tuple[int, ...] = ()


@dataclass(frozen=True)
class Site:
    id: str
    name: str
    kecamatan: str
    nodes: tuple[FleetNode, ...]
    services: tuple[Service, ...]
    counters: tuple[Counter, ...]
    network: Mapping[str, Any]

    def node(self, node_id: str) -> FleetNode:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise FleetError(f"site {self.id}: no node {node_id!r}")


@dataclass(frozen=True)
class Central:
    host: str
    port: int


@dataclass(frozen=True)
class Fleet:
    central: Central
    sites: tuple[Site, ...]

    def site(self, site_id: str) -> Site:
        for s in self.sites:
            if s.id == site_id:
                return s
        raise FleetError(f"no site {site_id!r} in the fleet")


def default_path() -> Path:
    """``deploy/fleet.toml`` of the checkout this package runs from."""
    return Path(__file__).resolve().parents[1] / "deploy" / "fleet.toml"


def load_fleet(path: Path | None = None) -> Fleet:
    """Read and check the inventory; FleetError names the file and the field."""
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
    return Fleet(
        central=Central(
            host=_str(central.get("host", "127.0.0.1"), "central.host"),
            port=_int(central.get("port", 8883), "central.port"),
        ),
        sites=tuple(_site(s, f"site[{i}]", defaults) for i, s in enumerate(sites)),
    )


def _site(raw: object, where: str, defaults: Mapping[str, Any]) -> Site:
    s = _mapping(raw, where)
    site_id = _id(s.get("id"), f"{where}.id")
    services_raw = _list(s.get("services", defaults.get("services", [])), f"{where}.services")
    counters_raw = _list(s.get("counters", defaults.get("counters", [])), f"{where}.counters")
    return Site(
        id=site_id,
        name=_str(s.get("name"), f"{where}.name"),
        kecamatan=_str(s.get("kecamatan"), f"{where}.kecamatan"),
        nodes=tuple(
            _node(n, f"{where}.nodes[{i}]")
            for i, n in enumerate(_list(s.get("nodes", []), f"{where}.nodes"))
        ),
        services=tuple(_service(v, f"{where}.services[{i}]") for i, v in enumerate(services_raw)),
        counters=tuple(_counter(c, f"{where}.counters[{i}]") for i, c in enumerate(counters_raw)),
        network=_mapping(s.get("network", {"mode": "dhcp"}), f"{where}.network"),
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
    return FleetNode(id=_id(n.get("id"), f"{where}.id"), roles=roles, counters=counters)


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


def _int(value: object, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise FleetError(f"{where}: expected an integer")
    return value


def _id(value: object, where: str) -> str:
    if not isinstance(value, str) or not is_valid_id(value):
        raise FleetError(f"{where}: {value!r} is not an id ([a-z0-9][a-z0-9-]{{0,31}})")
    return value
