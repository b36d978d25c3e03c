"""A node's seed: the few files on the boot partition that make a golden image this node.

Two small interfaces keep the parts apart:

- a ``SeedFormat`` renders the first-boot files of one OS mechanism (cloud-init NoCloud
  today; Raspberry Pi's newer rpi-preseed can be another format);
- a ``BootTarget`` puts files on a boot partition (a FAT partition inside an image file
  through mtools, or a mounted directory).

The node's own files (``brexit/node.toml``, its MQTT password and the fleet CA) are the
same whatever the format.

>>> files = (SeedFile("brexit/node.toml", b"site = 'x'"), SeedFile("user-data", b"#c"))
>>> instance_id("janti", "kios-1", files)
'brexit-janti-kios-1-3650860c8fc8'
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from contract.fleet import Fleet, FleetNode, Site

SEED_DIR = "brexit"  # on the boot partition: /boot/firmware/brexit/ on the node


@dataclass(frozen=True)
class SeedFile:
    """One file for the boot partition; ``secret`` ones are written 0600 where modes exist."""

    path: str  # relative to the partition's root, "/"-separated
    data: bytes
    secret: bool = False


@dataclass(frozen=True)
class NodeIdentity:
    """Everything that makes one node itself, gathered before any format renders it."""

    fleet: Fleet
    site: Site
    node: FleetNode
    node_toml: str
    mqtt_password: str
    ca_pem: bytes
    ssh_keys: tuple[str, ...]
    admin_user: str = "teknisi"
    wifi_password: str | None = None
    broker_files: tuple[SeedFile, ...] = ()  # the site broker's bundle, on its node only

    @property
    def hostname(self) -> str:
        return self.site.hostname(self.node)


class SeedFormat(Protocol):
    """A first-boot mechanism: renders the files it reads from the boot partition."""

    name: str

    def render(self, identity: NodeIdentity, node_files: Sequence[SeedFile]) -> list[SeedFile]:
        """The format's files; ``node_files`` are given so an id can cover the whole seed."""
        ...


class BootTarget(Protocol):
    """A boot partition that seed files can be written to."""

    def write(self, files: Sequence[SeedFile]) -> None: ...


def node_files(identity: NodeIdentity) -> list[SeedFile]:
    """``brexit/node.toml`` and the node's own secrets; never another node's. The node
    that runs the site broker also gets the broker's files (``brexit/mosquitto/``)."""
    return [
        SeedFile(f"{SEED_DIR}/node.toml", identity.node_toml.encode(), secret=True),
        SeedFile(f"{SEED_DIR}/mqtt.password", (identity.mqtt_password + "\n").encode(), True),
        SeedFile(f"{SEED_DIR}/ca.crt", identity.ca_pem),
        *identity.broker_files,
    ]


def build_seed(identity: NodeIdentity, fmt: SeedFormat) -> list[SeedFile]:
    files = node_files(identity)
    return files + fmt.render(identity, files)


def instance_id(site: str, node: str, files: Sequence[SeedFile]) -> str:
    """An id that changes whenever any byte of the seed changes (cloud-init re-runs then)."""
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.path):
        digest.update(f.path.encode() + b"\0" + hashlib.sha256(f.data).digest())
    return f"brexit-{site}-{node}-{digest.hexdigest()[:12]}"
