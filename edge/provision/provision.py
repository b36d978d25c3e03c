"""Gather one node's identity from the inventory and the broker bundle, and seed it.

>>> check_ssh_key("ssh-ed25519 AAAAC3Nza teknisi@laptop", "k.pub")
'ssh-ed25519 AAAAC3Nza teknisi@laptop'
>>> try:
...     check_ssh_key("-----BEGIN OPENSSH PRIVATE KEY-----", "id_ed25519")
... except ProvisionError as e:
...     print(e)
--ssh-key: id_ed25519 is not an SSH public key (a private key? use the .pub file)
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from contract.fleet import Fleet, FleetError, check_fleet
from edge.config import ConfigError, load_config
from edge.provision import nodeconfig
from edge.provision.bootpart import BootDirectory, FatImage, copy_image
from edge.provision.cloudinit import NoCloud
from edge.provision.seed import SEED_DIR, NodeIdentity, SeedFile, SeedFormat, build_seed
from mqtt_config.bundle import INSTALLED, BundleLayout

FORMATS: dict[str, SeedFormat] = {"cloud-init": NoCloud()}
# What the site broker's node needs of the bundle (`brexit broker install`, run by
# brexit-site-broker.service, puts it in place): never credentials.toml nor nodes/.
SECRET_BROKER_FILES = frozenset({"mosquitto.conf", "passwd", "server.key"})
KEY_TYPES = ("ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-")


class ProvisionError(ValueError):
    """Provisioning cannot go on; the message names the option or file."""


@dataclass(frozen=True)
class Request:
    fleet: Fleet
    site: str
    node: str
    bundle: Path
    ssh_keys: tuple[str, ...]
    admin_user: str = "teknisi"
    wifi_password: str | None = None
    format: str = "cloud-init"


def check_ssh_key(line: str, source: str) -> str:
    key = line.strip()
    if not key.startswith(KEY_TYPES) or len(key.split()) < 2:
        hint = " (a private key? use the .pub file)" if "PRIVATE KEY" in key else ""
        raise ProvisionError(f"--ssh-key: {source} is not an SSH public key{hint}")
    return key


def read_ssh_keys(paths: list[Path]) -> tuple[str, ...]:
    keys: list[str] = []
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise ProvisionError(f"--ssh-key: cannot read {path}: {e}") from None
        keys += [check_ssh_key(ln, str(path)) for ln in lines if ln.strip()]
    if not keys:
        raise ProvisionError(
            "--ssh-key: give the technician's SSH public key (e.g. ~/.ssh/id_ed25519.pub)"
        )
    return tuple(keys)


def identity(req: Request) -> NodeIdentity:
    """The node's identity, checked: its config loads as the node itself would load it."""
    site = req.fleet.site(req.site)
    node = site.node(req.node)
    problems = [p for p in check_fleet(req.fleet) if p.startswith(f"{site.id}: ")]
    if problems:
        raise ProvisionError(f"the inventory has problems at {site.id} ({problems[0]}); "
                             "run `brexit fleet check`")
    if site.network.wifi_ssid and not req.wifi_password:
        raise ProvisionError(f"--wifi-password-file: {site.id} uses Wi-Fi "
                             f"{site.network.wifi_ssid!r}; give its password in a file")
    toml = nodeconfig.render(nodeconfig.node_config(req.fleet, site.id, node.id))
    password, ca = _bundle_secrets(req.bundle, site.id, node.id)
    _check_loads(toml, password, ca)
    broker = _broker_files(req.bundle) if "broker" in node.roles else ()
    return NodeIdentity(fleet=req.fleet, site=site, node=node, node_toml=toml,
                        mqtt_password=password, ca_pem=ca, ssh_keys=req.ssh_keys,
                        admin_user=req.admin_user, wifi_password=req.wifi_password,
                        broker_files=broker)


def seed_files(req: Request) -> list[SeedFile]:
    return build_seed(identity(req), FORMATS[req.format])


def provision_image(req: Request, image: Path, out: Path) -> list[SeedFile]:
    """Copy the golden image to ``out`` and write the node's seed into its FAT partition."""
    files = seed_files(req)
    copy_image(image, out)
    try:
        FatImage.of(out).write(files)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return files


def provision_dir(req: Request, boot_dir: Path) -> list[SeedFile]:
    files = seed_files(req)
    BootDirectory(boot_dir).write(files)
    return files


def _bundle_secrets(bundle: Path, site: str, node: str) -> tuple[str, bytes]:
    layout = BundleLayout(bundle)
    try:
        password = layout.node_password(node).read_text(encoding="utf-8").strip()
        ca = layout.ca_cert.read_bytes()
    except OSError as e:
        raise ProvisionError(
            f"--bundle: {bundle} has no {Path(e.filename).name} for {site}/{node}; make it with "
            f"`brexit broker site` including this node ({e.strerror})"
        ) from None
    if not password or b"BEGIN CERTIFICATE" not in ca:
        raise ProvisionError(f"--bundle: {bundle}: empty password or CA file for {node}")
    return password, ca


def _broker_files(bundle: Path) -> tuple[SeedFile, ...]:
    files = []
    for name in INSTALLED:
        try:
            data = (bundle / name).read_bytes()
        except OSError as e:
            raise ProvisionError(f"--bundle: {bundle} has no {name} for the site broker "
                                 f"({e.strerror})") from None
        files.append(SeedFile(f"{SEED_DIR}/mosquitto/{name}", data,
                              name in SECRET_BROKER_FILES))
    return tuple(files)


def _check_loads(toml: str, password: str, ca: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="brexit-node-") as tmp:
        base = Path(tmp)
        (base / "node.toml").write_text(toml, encoding="utf-8")
        (base / nodeconfig.PASSWORD_FILE).write_text(password + "\n", encoding="utf-8")
        (base / nodeconfig.CA_FILE).write_bytes(ca)
        try:
            load_config(base / "node.toml")
        except ConfigError as e:
            raise FleetError(f"the derived node.toml is refused by the node: {e}") from None
