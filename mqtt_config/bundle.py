"""Write a broker's whole directory: config, password file, ACL, certificates, credentials.

A bundle is made on the technician's machine and copied to ``install_dir`` on the broker
host (paths inside the config point there). Re-running keeps existing passwords, so adding
a node to a puskesmas does not change anyone else's login.

>>> layout = BundleLayout(Path("/tmp/janti"))
>>> layout.conf.name, layout.node_password("kiosk-1").name
('mosquitto.conf', 'kiosk-1.password')
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from mqtt_config import pki
from mqtt_config.render import (
    Account,
    AccountKind,
    CentralBroker,
    Credential,
    ProvisionError,
    SiteBroker,
    parse_credentials,
    render_acl,
    render_central_conf,
    render_credentials,
    render_password_source,
    render_site_conf,
    site_accounts,
)


@dataclass(frozen=True)
class BundleLayout:
    """Where each file of a broker bundle lives."""

    root: Path

    @property
    def conf(self) -> Path:
        return self.root / "mosquitto.conf"

    @property
    def passwd(self) -> Path:
        return self.root / "passwd"

    @property
    def acl(self) -> Path:
        return self.root / "acl"

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca.crt"

    @property
    def credentials(self) -> Path:
        return self.root / "credentials.toml"

    def node_password(self, node: str) -> Path:
        return self.root / "nodes" / f"{node}.password"


def read_credentials(path: Path) -> list[Credential]:
    if not path.is_file():
        return []
    return parse_credentials(path.read_text(encoding="utf-8"))


def _with_passwords(accounts: Iterable[Account], known: Iterable[Credential]) -> list[Credential]:
    old = {c.account.username: c.password for c in known}
    return [Credential(a, old.get(a.username) or pki.new_password()) for a in accounts]


def _write_common(
    layout: BundleLayout,
    creds: Sequence[Credential],
    logins: Sequence[Credential],
    title: str,
    ca: pki.CertPair,
    hosts: Sequence[str],
) -> None:
    layout.root.mkdir(parents=True, exist_ok=True)
    pki.write_secret(layout.credentials, render_credentials(creds, title))
    pki.hash_password_file(layout.passwd, render_password_source(logins))
    layout.acl.write_text(render_acl([c.account for c in logins], title), encoding="utf-8")
    shutil.copyfile(ca.cert, layout.ca_cert)
    pki.make_server_cert(ca, layout.root, hosts)


def write_site(
    broker: SiteBroker, ca: pki.CertPair, out: Path, hosts: Sequence[str]
) -> list[Credential]:
    """Write the site broker's bundle to ``out`` and return its credentials."""
    layout = BundleLayout(out)
    inv = broker.inventory
    known = read_credentials(layout.credentials)
    creds = _with_passwords(site_accounts(inv.site, inv.nodes), known)
    bridge = next(c for c in creds if c.account.kind is AccountKind.BRIDGE)
    local = [c for c in creds if c.account.kind is not AccountKind.BRIDGE]
    title = f"site {inv.site} ({inv.name})"
    # The bridge account logs in on the central broker only; it stays in credentials.toml
    # so `brexit broker central` can pick it up, and in the config for the bridge.
    _write_common(layout, creds, local, title, ca, hosts)
    conf = render_site_conf(replace(broker, bridge_password=bridge.password))
    pki.write_secret(layout.conf, conf)
    for c in creds:
        if c.account.kind is AccountKind.NODE and c.account.node:
            pki.write_secret(layout.node_password(c.account.node), c.password + "\n")
    return creds


def central_accounts_from_sites(site_dirs: Iterable[Path]) -> list[Credential]:
    """The staff and bridge logins of each site bundle, which the central broker must know."""
    found: list[Credential] = []
    for d in site_dirs:
        creds = read_credentials(BundleLayout(d).credentials)
        picked = [c for c in creds if c.account.kind in (AccountKind.STAFF, AccountKind.BRIDGE)]
        if not picked:
            raise ProvisionError(f"--site-dir: {d} has no site credentials.toml")
        found += picked
    return found


def write_central(
    broker: CentralBroker,
    site_creds: Sequence[Credential],
    ca: pki.CertPair,
    out: Path,
    hosts: Sequence[str],
) -> list[Credential]:
    """Write the central broker's bundle to ``out`` and return its credentials."""
    layout = BundleLayout(out)
    ncc = _with_passwords([Account(AccountKind.NCC)], read_credentials(layout.credentials))
    creds = [*ncc, *site_creds]
    title = f"central broker (sites: {', '.join(broker.sites)})"
    _write_common(layout, creds, creds, title, ca, hosts)
    pki.write_secret(layout.conf, render_central_conf(broker))
    return creds


def make_data_dir(path: Path) -> None:
    """The persistence directory, private to the broker's user."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
