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
import pwd
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from mqtt_config import certs, pki
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
    render_client_ids,
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
    def client_ids(self) -> Path:
        return self.root / "clientids"

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
    accounts = [c.account for c in logins]
    layout.acl.write_text(render_acl(accounts, title), encoding="utf-8")
    layout.client_ids.write_text(render_client_ids(accounts, title), encoding="utf-8")
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
    """The staff and bridge logins of each site bundle, which the central broker must know.

    A site given twice (the same directory, or a copy) counts once; two different bundles
    for one site are refused, since only one of them can be the site broker's.
    """
    found: dict[str, tuple[Credential, Path]] = {}
    for d in site_dirs:
        creds = read_credentials(BundleLayout(d).credentials)
        picked = [c for c in creds if c.account.kind in (AccountKind.STAFF, AccountKind.BRIDGE)]
        if not picked:
            raise ProvisionError(f"--site-dir: {d} has no site credentials.toml")
        for c in picked:
            seen = found.setdefault(c.account.username, (c, d))
            if seen[0] != c:
                raise ProvisionError(f"--site-dir: site {c.account.site!r} is in both {seen[1]} "
                                     f"and {d}, with different passwords; give one")
    return [c for c, _ in found.values()]


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


def renew_server_cert(bundle: Path, ca: pki.CertPair, hosts: Sequence[str] = ()) -> Path:
    """A new ``server.crt``/``server.key`` in ``bundle``; nothing else changes.

    ``hosts`` defaults to the names of the certificate being replaced. ``ca`` must be the
    bundle's own CA (its ``ca.crt``), or the new certificate would not verify for clients.
    """
    layout = BundleLayout(bundle)
    if not layout.ca_cert.is_file():
        raise ProvisionError(f"--bundle: {layout.ca_cert} missing; is {bundle} a broker bundle?")
    if layout.ca_cert.read_bytes() != ca.cert.read_bytes():
        raise ProvisionError(f"--ca: {ca.cert} is not the CA of {bundle} ({layout.ca_cert})")
    old = bundle / "server.crt"
    names = list(hosts) or (certs.subject_alt_names(old) if old.is_file() else [])
    with tempfile.TemporaryDirectory(dir=bundle, prefix=".renew-") as tmp:
        fresh = pki.make_server_cert(ca, Path(tmp), names)
        os.replace(fresh.key, bundle / "server.key")
        os.replace(fresh.cert, old)
    return old


# --- on the broker host ------------------------------------------------------------------

def conf_value(text: str, key: str) -> str | None:
    """The value of the first ``key value`` line of a mosquitto.conf.

    >>> conf_value("# user x\\nuser mosquitto\\n", "user")
    'mosquitto'
    """
    for line in text.splitlines():
        name, _, value = line.strip().partition(" ")
        if name == key:
            return value.strip()
    return None


def run_user_ids(user: str) -> tuple[int, int] | None:
    """(uid, gid) of ``user`` when it exists and we can give files away (we are root)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def make_data_dir(path: Path, user: str | None = None) -> None:
    """The persistence directory, 0700 and owned by the broker's user when it exists."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    ids = run_user_ids(user) if user else None
    if ids is not None:
        os.chown(path, *ids)


SYSTEMD_DROPIN_DIR = Path("/etc/systemd/system/mosquitto.service.d")


def render_systemd_dropin(conf: Path) -> str:
    """A drop-in making Debian's ``mosquitto.service`` run the rendered config.

    >>> render_systemd_dropin(Path("/etc/brexit/mosquitto/mosquitto.conf")).splitlines()[-2:]
    ['ExecStart=', 'ExecStart=/usr/sbin/mosquitto -c /etc/brexit/mosquitto/mosquitto.conf']
    """
    return ("# BREXIT: run the config rendered by `brexit broker` (docs/brokers.md).\n"
            "[Service]\nExecStart=\n"
            f"ExecStart=/usr/sbin/mosquitto -c {conf}\n")


INSTALLED = ("mosquitto.conf", "passwd", "acl", "clientids", "ca.crt", "server.crt",
             "server.key")


def install(bundle: Path, systemd_dir: Path | None = None) -> tuple[Path, Path]:
    """Put a bundle where its config says and make the persistence directory.

    Copies the broker's files (not ``credentials.toml`` nor ``nodes/``) to the directory its
    ``password_file`` names, gives them and the persistence directory to the ``user`` of the
    config when it exists (as root), writes the drop-in for Debian's ``mosquitto.service``
    into ``systemd_dir`` when given, and returns (install_dir, data_dir).
    """
    layout = BundleLayout(bundle)
    if not layout.conf.is_file():
        raise ProvisionError(f"--bundle: {layout.conf} missing; is {bundle} a broker bundle?")
    text = layout.conf.read_text(encoding="utf-8")
    passwd, data, user = (conf_value(text, k) for k in ("password_file", "persistence_location",
                                                         "user"))
    if not passwd or not data:
        raise ProvisionError(f"--bundle: {layout.conf} has no password_file or "
                             "persistence_location; re-run `brexit broker`")
    target = Path(passwd).parent
    target.mkdir(parents=True, exist_ok=True)
    ids = run_user_ids(user) if user else None
    for name in INSTALLED:
        src, dst = bundle / name, target / name
        if not src.is_file():
            raise ProvisionError(f"--bundle: {src} missing")
        if src.resolve() != dst.resolve():
            shutil.copy2(src, dst)
        if ids is not None:
            os.chown(dst, *ids)
    make_data_dir(Path(data), user)
    if systemd_dir is not None:
        systemd_dir.mkdir(parents=True, exist_ok=True)
        dropin = render_systemd_dropin(target / "mosquitto.conf")
        (systemd_dir / "brexit.conf").write_text(dropin, encoding="utf-8")
    return target, Path(data)
