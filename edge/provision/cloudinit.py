"""The cloud-init NoCloud seed: ``user-data``, ``network-config`` and ``meta-data``.

cloud-init reads them from the root of the boot partition (the image's cloud-init
configuration names it by its label, ``bootfs``). ``meta-data``'s ``instance-id`` covers
every other file of the seed, so a changed seed is applied again on the next boot.

>>> from contract.fleet import Network, NetworkMode
>>> network_config(Network(), None)["ethernets"]["eth0"]
{'dhcp4': True, 'optional': True}
>>> static = Network(NetworkMode.STATIC, gateway="192.168.10.1", dns=("192.168.10.1",))
>>> network_config(static, "192.168.10.2")["ethernets"]["eth0"]["addresses"]
['192.168.10.2/24']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from contract.fleet import Network, NetworkMode
from edge.provision.seed import NodeIdentity, SeedFile, instance_id

ETHERNET = "eth0"  # Raspberry Pi OS keeps the kernel's names (eth0, wlan0)
WIFI = "wlan0"
ADMIN_GROUPS = ("sudo", "adm", "systemd-journal", "brexit")


class NoCloud:
    """cloud-init's NoCloud datasource, files at the boot partition's root."""

    name = "cloud-init"

    def render(self, identity: NodeIdentity, node_files: Sequence[SeedFile]) -> list[SeedFile]:
        site, node = identity.site, identity.node
        net = network_config(site.network, node.address, identity.wifi_password)
        files = [
            SeedFile("user-data", render_user_data(user_data(identity)).encode()),
            SeedFile("network-config", _yaml(net).encode(), secret=bool(site.network.wifi_ssid)),
        ]
        meta = {
            "instance-id": instance_id(site.id, node.id, [*node_files, *files]),
            "local-hostname": identity.hostname,
        }
        return [*files, SeedFile("meta-data", _yaml(meta).encode())]


def user_data(identity: NodeIdentity) -> dict[str, Any]:
    """The cloud-config: host name, the technician's login, clock, locale."""
    fleet = identity.fleet
    return {
        "hostname": identity.hostname,
        "fqdn": f"{identity.hostname}.local",
        "preserve_hostname": False,
        "manage_etc_hosts": True,
        "timezone": fleet.timezone,
        "locale": fleet.locale,
        "ntp": {"enabled": True, "ntp_client": "systemd-timesyncd", "servers": list(fleet.ntp)},
        "users": [
            {
                "name": identity.admin_user,
                "gecos": "Teknisi BREXIT",
                "groups": list(ADMIN_GROUPS),
                "shell": "/bin/bash",
                "sudo": "ALL=(ALL) NOPASSWD:ALL",
                "lock_passwd": True,
                "ssh_authorized_keys": list(identity.ssh_keys),
            }
        ],
        "ssh_pwauth": False,
        "disable_root": True,
    }


def render_user_data(doc: dict[str, Any]) -> str:
    return "#cloud-config\n# Made by `brexit provision` from deploy/fleet.toml.\n" + _yaml(doc)


def network_config(net: Network, address: str | None, wifi_password: str | None = None
                   ) -> dict[str, Any]:
    """Network config version 2: wired always, Wi-Fi too when the site has an SSID."""
    link = _addressing(net, address)
    doc: dict[str, Any] = {"version": 2, "ethernets": {ETHERNET: {**link, "optional": True}}}
    if net.wifi_ssid is not None:
        point = {"password": wifi_password} if wifi_password else {}
        doc["wifis"] = {
            WIFI: {**link, "optional": True, "access-points": {net.wifi_ssid: point}}
        }
    return doc


def _addressing(net: Network, address: str | None) -> dict[str, Any]:
    if net.mode is NetworkMode.DHCP:
        return {"dhcp4": True}
    link: dict[str, Any] = {
        "addresses": [f"{address}/{net.prefix}"],
        "routes": [{"to": "0.0.0.0/0", "via": net.gateway}],
    }
    if net.dns:
        link["nameservers"] = {"addresses": list(net.dns)}
    return link


def _yaml(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False)
