"""A node's ``node.toml``, derived from the fleet inventory.

The inventory's roles map onto the node's: ``broker`` (runs the site broker) is the
node config's ``main``; a role the node software does not know yet is refused by name.

>>> from contract.fleet import parse_fleet
>>> fleet = parse_fleet({"site": [{"id": "janti", "name": "UPT Puskesmas Janti",
...     "kecamatan": "Sukun", "services": [{"code": "A", "name": "Poli Umum"}],
...     "counters": [{"number": 1, "services": ["A"]}],
...     "nodes": [{"id": "kios-1", "roles": ["kiosk", "broker"]}]}]})
>>> doc = node_config(fleet, "janti", "kios-1")
>>> doc["roles"], doc["mqtt"]["username"], doc["mqtt"]["host"]
(['kiosk', 'main'], 'node.janti.kios-1', 'janti-kios-1.local')
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import tomli_w

from contract.fleet import Fleet, FleetError, FleetNode, Site
from mqtt_config.render import Account, AccountKind

PASSWORD_FILE = "mqtt.password"  # next to node.toml on the boot partition
CA_FILE = "ca.crt"
MQTT_TLS_PORT = 8883
ROLE_MAP = {"kiosk": "kiosk", "caller": "caller", "broker": "main", "pharmacy": "pharmacy"}
DEVICE_WIDTH_KEY = {"printer": "width_chars", "embosser": "width_cells", "cells": "count"}


def node_roles() -> frozenset[str]:
    """The roles this node software accepts (``edge/config_schema.json``)."""
    text = resources.files("edge").joinpath("config_schema.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    return frozenset(schema["properties"]["roles"]["items"]["enum"])


def node_config(fleet: Fleet, site_id: str, node_id: str) -> dict[str, Any]:
    """The node's config as a TOML-ready mapping (``render`` makes the text)."""
    site = fleet.site(site_id)
    node = site.node(node_id)
    doc: dict[str, Any] = {
        "site": site.id,
        "node": node.id,
        "site_name": site.name,
        "roles": _roles(site, node),
        "timezone": fleet.timezone,
        "services": [
            {"code": s.code, "name": s.name, "button": f"service-{i + 1}"}
            for i, s in enumerate(site.services)
        ],
        "counters": [{"number": c.number, "services": list(c.services)} for c in site.counters],
    }
    if "kiosk" in node.roles:
        doc["kiosk"] = {"braille": True, "cells_near": [s.code for s in site.services]}
    for device in ("printer", "embosser", "cells"):
        doc[device] = _device(node, device)
    doc["mqtt"] = _mqtt(site, node)
    return doc


def render(doc: dict[str, Any]) -> str:
    header = (
        f"# {doc['site_name']}, node {doc['node']}: made by `brexit fleet node-config` from\n"
        "# deploy/fleet.toml. Change the inventory, not this file. Fields: docs/config.md.\n"
    )
    return header + tomli_w.dumps(doc)


def _roles(site: Site, node: FleetNode) -> list[str]:
    known = node_roles()
    roles = []
    for role in node.roles:
        mapped = ROLE_MAP[role]
        if mapped not in known:
            raise FleetError(
                f"{site.id}/{node.id}: role {role!r} is not supported by this node software "
                f"(it knows {', '.join(sorted(known))})"
            )
        roles.append(mapped)
    return roles


def _device(node: FleetNode, device: str) -> dict[str, Any]:
    url = node.devices.get(device)
    if url is None:
        return {"enabled": False}
    return {"url": url}


def _mqtt(site: Site, node: FleetNode) -> dict[str, Any]:
    host = site.broker_host
    if host is None:
        raise FleetError(f"{site.id}: the site needs exactly one node with the broker role")
    return {
        "host": host,
        "port": MQTT_TLS_PORT,
        "username": Account(AccountKind.NODE, site.id, node.id).username,
        "password_file": PASSWORD_FILE,
        "tls_ca": CA_FILE,
    }
