"""``brexit ncc demo``: the whole NCC on one machine with nothing else running.

It provisions a central broker with the project's own renderer (``mqtt_config``: TLS from a
throw-away fleet CA, a password and an ACL per account, one bridge login per puskesmas),
starts Mosquitto on a free loopback port, runs light simulated kiosk and counter nodes for
every puskesmas of ``deploy/fleet.toml`` over their sites' bridge logins, and the NCC with
its dashboard. Ctrl-C (or SIGTERM) stops everything it started.

The inventory is found from any directory: ``ncc/data/fleet.toml`` is the project's
``deploy/fleet.toml`` (a link in the checkout, a copy in the wheel), read through
``importlib.resources``; ``--fleet PATH`` reads another.
"""

from __future__ import annotations

import getpass
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from contract.fleet import Fleet, FleetError, load_fleet
from mqtt_config import bundle, pki
from mqtt_config.plugin import build_plugin
from mqtt_config.process import HOST, MosquittoProcess
from mqtt_config.render import (
    DEFAULT_PLUGIN,
    Account,
    AccountKind,
    BrokerTuning,
    CentralBroker,
    Credential,
)
from ncc.config import AlarmSettings, FleetSettings, HttpSettings, MqttSettings, NccConfig
from ncc.config import StoreSettings as StoreConfig
from ncc.sim import Broker

DEMO_USER = "operator"
PACKAGED_FLEET = Path(str(resources.files("ncc").joinpath("data/fleet.toml")))


def demo_fleet(path: Path | None, *, packaged: Path = PACKAGED_FLEET) -> Fleet:
    """The inventory at ``path``, else the project's own (installed with the package).

    Raises FleetError (one line) when the file is missing or wrong.
    """
    if path is None:
        if not packaged.is_file():
            raise FleetError(f"the demo's fleet inventory {packaged} is missing (reinstall "
                             "brexit, or give --fleet deploy/fleet.toml)")
        path = packaged
    return load_fleet(path)


@dataclass(frozen=True)
class CentralBundle:
    conf: Path
    port: int
    ca_file: Path
    ncc_password: str
    bridges: dict[str, str]  # site -> bridge password
    log: Path


def provision_central(root: Path, fleet: Fleet, port: int) -> CentralBundle:
    """A central broker bundle for every site of ``fleet``, rendered by ``mqtt_config``."""
    ca = pki.make_ca(root / "ca", name="BREXIT demo CA")
    site_creds = [Credential(Account(AccountKind.BRIDGE, s.id), pki.new_password())
                  for s in fleet.sites]
    data_dir = root / "central-data"
    broker = CentralBroker(
        sites=tuple(s.id for s in fleet.sites), install_dir=root / "central",
        data_dir=data_dir, tls_port=port, tls_bind=HOST,
        tuning=BrokerTuning(run_user=getpass.getuser(), clientid_plugin=_plugin(root)),
    )
    creds = bundle.write_central(broker, site_creds, ca, root / "central", ["localhost", HOST])
    bundle.make_data_dir(data_dir)
    ncc = next(c for c in creds if c.account.kind is AccountKind.NCC)
    return CentralBundle(
        conf=bundle.BundleLayout(root / "central").conf, port=port, ca_file=ca.cert,
        ncc_password=ncc.password,
        bridges={c.account.site or "": c.password for c in site_creds}, log=root / "central.log",
    )


def _plugin(root: Path) -> Path:
    """The client-id plugin setup.sh installed, else one built for this demo."""
    return DEFAULT_PLUGIN if DEFAULT_PLUGIN.is_file() else build_plugin(root / "plugin")


def central_broker(central: CentralBundle) -> MosquittoProcess:
    """The demo's central broker (its output appended to the bundle's log)."""
    return MosquittoProcess(central.conf, central.port, central.log, output=central.log)


def demo_config(root: Path, central: CentralBundle, listen: tuple[str, int],
                base: NccConfig | None = None) -> NccConfig:
    """The NCC of the demo: on the demo broker, a database in ``root``, short hold-down."""
    base = base or NccConfig()
    return replace(
        base,
        mqtt=MqttSettings(host=HOST, port=central.port, username="ncc",
                          password=central.ncc_password, tls_ca=central.ca_file),
        store=StoreConfig(path=root / "ncc.db"),
        http=HttpSettings(listen=listen),
        alarms=replace(AlarmSettings(), hold_down_s=20.0),
        fleet=FleetSettings(target_version="0.1.0"),
    )


def sim_broker(central: CentralBundle) -> tuple[Broker, Callable[[str], tuple[str, str]]]:
    def login(site: str) -> tuple[str, str]:
        return f"bridge.{site}", central.bridges[site]

    return Broker(HOST, central.port, tls_ca=str(central.ca_file)), login


def demo_root(data: Path | None) -> tuple[Path, bool]:
    """Where the demo keeps its files, and whether it is a temporary directory."""
    if data is not None:
        data.mkdir(parents=True, exist_ok=True)
        return data, False
    return Path(tempfile.mkdtemp(prefix="brexit-ncc-demo-")), True


def new_password() -> str:
    return secrets.token_urlsafe(12)
