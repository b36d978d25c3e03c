"""``brexit broker``: the fleet CA and the site and central Mosquitto bundles.

    brexit broker ca --out ca/
    brexit broker site --config janti/*.toml --ca ca/ --central ncc.example.id:8883 --out janti/
    brexit broker site --fleet deploy/fleet.toml --site janti --ca ca/ --out janti/
    brexit broker central --site-dir janti/ --site-dir arjuno/ --ca ca/ --out central/
    brexit broker renew --bundle janti/ --ca ca/     # a new server certificate, nothing else
    brexit broker plugin --out /usr/local/lib/brexit/  # on the broker host (setup.sh)
    brexit broker install --bundle janti/ --systemd  # on the broker host, as root

Passwords are written only to files (0600); nothing secret is printed. Bad input is one
line naming the option or field, and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from contract.fleet import FleetError, load_fleet
from mqtt_config import bundle, certs, pki, plugin
from mqtt_config.render import (
    DEFAULT_PLUGIN,
    MESSAGE_SIZE_LIMIT,
    BrokerTuning,
    CentralBroker,
    Endpoint,
    ProvisionError,
    SiteBroker,
    SiteInventory,
    check_bind,
    check_count,
    check_host,
    check_port,
    check_restart_timeout,
    check_site,
)

DEFAULT_INSTALL = Path("/etc/brexit/mosquitto")
DEFAULT_DATA = Path("/var/lib/brexit/mosquitto")
DEFAULT_HOSTS = ("localhost", "127.0.0.1")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("broker", help="make broker configs, ACLs, CA and certificates")
    parser.set_defaults(func=lambda _args: _usage(parser))
    sub = parser.add_subparsers(dest="broker_command", parser_class=OneLineParser)
    _add_ca(sub)
    _add_site(sub)
    _add_central(sub)
    _add_renew(sub)
    _add_plugin(sub)
    _add_install(sub)


def run(argv: Sequence[str]) -> int:
    """Run ``brexit broker ARGV`` (for tests and scripts that do not want the whole CLI)."""
    parser = argparse.ArgumentParser(prog="brexit")
    register(parser.add_subparsers(dest="command", required=True))
    try:
        args = parser.parse_args(["broker", *argv])
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 2
    status: int = args.func(args)
    return status


class OneLineParser(argparse.ArgumentParser):
    """Reports a bad option as one line (``brexit broker site: argument --x: why``)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\n")


def _checked(check: Callable[[str, str], Any], field: str) -> Callable[[str], Any]:
    """An argparse ``type`` from a ``render.check_*`` function, keeping its message."""

    def convert(text: str) -> Any:
        try:
            return check(text, field)
        except ProvisionError as e:
            raise argparse.ArgumentTypeError(str(e).removeprefix(f"{field}: ")) from None

    return convert


def _count(field: str, minimum: int = 0) -> Callable[[str], int]:
    return _checked(lambda text, f: check_count(text, f, minimum), field)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _guarded(func: Any) -> Any:
    def wrapper(args: argparse.Namespace) -> int:
        try:
            status: int = func(args)
        except (ProvisionError, pki.ToolError, certs.CertError, OSError, UnicodeError) as e:
            print(f"brexit broker: {e}", file=sys.stderr)
            return 2
        return status

    return wrapper


# --- ca ---------------------------------------------------------------------------------

def _add_ca(sub: Any) -> None:
    p = sub.add_parser("ca", help="create the fleet CA (key + self-signed certificate)")
    p.add_argument("--out", type=Path, required=True, help="directory for ca.crt and ca.key")
    p.set_defaults(func=_guarded(_cmd_ca))


def _cmd_ca(args: argparse.Namespace) -> int:
    if (args.out / "ca.key").exists():
        raise ProvisionError(f"--out: {args.out / 'ca.key'} exists; refusing to replace the CA")
    ca = pki.make_ca(args.out)
    print(f"fleet CA: {ca.cert} (key {ca.key}, keep it offline)")
    return 0


# --- shared options ------------------------------------------------------------------------

def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ca", type=Path, required=True, help="directory made by `brexit broker ca`")
    p.add_argument("--out", type=Path, required=True, help="directory to write the bundle to")
    _add_hosts(p)
    p.add_argument("--install-dir", type=Path, default=None,
                   help=f"where the bundle lives on the broker host (default {DEFAULT_INSTALL})")
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="persistence directory")
    p.add_argument("--run-user", default="mosquitto", help="user Mosquitto drops to as root")
    p.add_argument("--max-queued", type=_count("--max-queued"), default=1_000_000,
                   help="max_queued_messages per client (0 = unbounded)")
    p.add_argument("--autosave-interval", type=_count("--autosave-interval"), default=60)
    p.add_argument("--autosave-on-changes", action="store_true",
                   help="count changes instead of seconds (with interval 1: save every change)")
    p.add_argument("--message-size-limit", type=_count("--message-size-limit", 1024),
                   default=MESSAGE_SIZE_LIMIT, help="largest payload in bytes (default 16 KiB)")
    p.add_argument("--plugin", type=Path, default=DEFAULT_PLUGIN,
                   help=f"the client-id plugin on the broker host (default {DEFAULT_PLUGIN})")


def _add_hosts(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", action="append", default=None, type=_checked(check_host, "--host"),
                   help="name or IP in the server certificate (repeat; default localhost)")


def _tuning(args: argparse.Namespace) -> BrokerTuning:
    return BrokerTuning(
        run_user=args.run_user,
        restart_timeout=getattr(args, "restart_timeout", "5 30"),
        max_queued_messages=args.max_queued,
        autosave_interval=args.autosave_interval,
        autosave_on_changes=args.autosave_on_changes,
        try_private=not getattr(args, "no_try_private", False),
        message_size_limit=args.message_size_limit,
        clientid_plugin=args.plugin.absolute(),
    )


def _install_dir(args: argparse.Namespace) -> Path:
    return (args.install_dir or DEFAULT_INSTALL).absolute()


# --- site ----------------------------------------------------------------------------------

def _add_site(sub: Any) -> None:
    p = sub.add_parser("site", help="bundle for one puskesmas's site broker")
    p.add_argument("--config", type=Path, action="append", default=[],
                   help="a node's TOML config (repeat for every node of the site)")
    p.add_argument("--fleet", type=Path, help="the fleet inventory (deploy/fleet.toml)")
    p.add_argument("--site", help="site id (with --nodes or --fleet, instead of --config)")
    p.add_argument("--nodes", help="comma-separated node ids (instead of --config)")
    p.add_argument("--site-name", help="the puskesmas's name (with --site)")
    p.add_argument("--central", help="central broker HOST:PORT (TLS; default: the fleet's)")
    p.add_argument("--lan-port", type=_checked(check_port, "--lan-port"), default=1883)
    p.add_argument("--lan-bind", type=_checked(check_bind, "--lan-bind"), default="0.0.0.0")
    p.add_argument("--tls-port", type=_checked(check_port, "--tls-port"), default=8883)
    p.add_argument("--tls-bind", type=_checked(check_bind, "--tls-bind"), default="0.0.0.0")
    p.add_argument("--restart-timeout", default="5 30",
                   type=_checked(check_restart_timeout, "--restart-timeout"),
                   help='bridge reconnect delay: "BASE CAP" back-off or a constant "SECONDS"')
    p.add_argument("--no-try-private", action="store_true",
                   help="the central broker is not Mosquitto (e.g. NATS)")
    _add_common(p)
    p.set_defaults(func=_guarded(_cmd_site))


def _inventory(args: argparse.Namespace) -> SiteInventory:
    if args.fleet:
        return _fleet_site(args).inventory
    if args.config and (args.site or args.nodes):
        raise ProvisionError("--config: give node configs or --site/--nodes, not both")
    if args.config:
        return SiteInventory.from_node_configs([_toml(path) for path in args.config])
    if not args.site or not args.nodes:
        raise ProvisionError("--site: give --config files, or --site and --nodes")
    nodes = [n.strip() for n in args.nodes.split(",") if n.strip()]
    return SiteInventory.of(args.site, nodes, args.site_name)


@dataclass(frozen=True)
class FleetSite:
    inventory: SiteInventory
    central: str


def _fleet_site(args: argparse.Namespace) -> FleetSite:
    if args.config or args.nodes or args.site_name:
        raise ProvisionError("--fleet: the fleet names the nodes; drop --config/--nodes/"
                             "--site-name")
    if not args.site:
        raise ProvisionError("--fleet: give --site, the site to make the bundle for")
    try:
        fleet = load_fleet(args.fleet)
        site = fleet.site(args.site)
    except FleetError as e:
        raise ProvisionError(f"--fleet: {e}") from None
    inventory = SiteInventory.of(site.id, [n.id for n in site.nodes], site.name)
    return FleetSite(inventory, f"{fleet.central.host}:{fleet.central.port}")


def _central(args: argparse.Namespace) -> Endpoint:
    text = args.central or (_fleet_site(args).central if args.fleet else None)
    if not text:
        raise ProvisionError("--central: give the central broker's HOST:PORT (or --fleet)")
    return Endpoint.parse(text, "--central")


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ProvisionError(f"--config: {path}: {e}") from None


def _cmd_site(args: argparse.Namespace) -> int:
    inventory = _inventory(args)
    broker = SiteBroker(
        inventory=inventory,
        central=_central(args),
        bridge_password="",  # filled in by bundle.write_site
        install_dir=_install_dir(args),
        data_dir=args.data_dir.absolute(),
        lan_port=args.lan_port,
        lan_bind=args.lan_bind,
        tls_port=args.tls_port,
        tls_bind=args.tls_bind,
        tuning=_tuning(args),
    )
    creds = bundle.write_site(broker, pki.load_ca(args.ca), args.out, args.host or DEFAULT_HOSTS)
    print(f"site {inventory.site}: {len(creds)} accounts; bundle in {args.out}")
    print(f"credentials for the technician: {bundle.BundleLayout(args.out).credentials}")
    return 0


# --- central -------------------------------------------------------------------------------

def _add_central(sub: Any) -> None:
    p = sub.add_parser("central", help="bundle for the central (NCC) broker")
    p.add_argument("--site-dir", type=Path, action="append", required=True,
                   help="a site bundle made by `brexit broker site` (repeat per site)")
    p.add_argument("--port", type=_checked(check_port, "--port"), default=8883)
    p.add_argument("--bind", type=_checked(check_bind, "--bind"), default="0.0.0.0")
    _add_common(p)
    p.set_defaults(func=_guarded(_cmd_central))


def _cmd_central(args: argparse.Namespace) -> int:
    site_creds = bundle.central_accounts_from_sites(args.site_dir)
    sites = tuple(sorted({check_site(c.account.site) for c in site_creds}))
    broker = CentralBroker(
        sites=sites,
        install_dir=_install_dir(args),
        data_dir=args.data_dir.absolute(),
        tls_port=args.port,
        tls_bind=args.bind,
        tuning=_tuning(args),
    )
    creds = bundle.write_central(
        broker, site_creds, pki.load_ca(args.ca), args.out, args.host or DEFAULT_HOSTS
    )
    print(f"central: {len(creds)} accounts for sites {', '.join(sites)}; bundle in {args.out}")
    return 0


# --- renew ---------------------------------------------------------------------------------

def _add_renew(sub: Any) -> None:
    p = sub.add_parser("renew", help="a new server certificate for a bundle, nothing else")
    p.add_argument("--bundle", type=Path, required=True, help="a site or central bundle")
    p.add_argument("--ca", type=Path, required=True, help="directory made by `brexit broker ca`")
    _add_hosts(p)
    p.set_defaults(func=_guarded(_cmd_renew))


def _cmd_renew(args: argparse.Namespace) -> int:
    cert = bundle.renew_server_cert(args.bundle, pki.load_ca(args.ca), args.host or ())
    left = certs.file_status("server", cert)
    print(f"renewed {cert}: valid until {left.to_dict()['not_after']} ({left.days_left} days); "
          "copy server.crt and server.key to the broker and reload it")
    return 0


# --- plugin, install (on the broker host) ---------------------------------------------------

def _add_plugin(sub: Any) -> None:
    p = sub.add_parser("plugin", help="build the client-id plugin for this machine's Mosquitto")
    p.add_argument("--out", type=Path, default=DEFAULT_PLUGIN.parent,
                   help=f"directory for {plugin.LIBRARY} (default {DEFAULT_PLUGIN.parent})")
    p.set_defaults(func=_guarded(_cmd_plugin))


def _cmd_plugin(args: argparse.Namespace) -> int:
    print(f"client-id plugin: {plugin.build_plugin(args.out)}")
    return 0


def _add_install(sub: Any) -> None:
    p = sub.add_parser("install", help="put a bundle in place and make the persistence directory")
    p.add_argument("--bundle", type=Path, required=True, help="a site or central bundle")
    p.add_argument("--systemd", nargs="?", type=Path, const=bundle.SYSTEMD_DROPIN_DIR,
                   default=None, metavar="DIR",
                   help="also write the mosquitto.service drop-in "
                        f"(default DIR {bundle.SYSTEMD_DROPIN_DIR})")
    p.set_defaults(func=_guarded(_cmd_install))


def _cmd_install(args: argparse.Namespace) -> int:
    target, data = bundle.install(args.bundle, args.systemd)
    print(f"installed in {target}; persistence in {data}")
    if args.systemd is not None:
        print(f"mosquitto.service runs it: {args.systemd / 'brexit.conf'}; now "
              "`systemctl daemon-reload && systemctl restart mosquitto`")
    return 0
