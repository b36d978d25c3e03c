"""``brexit broker``: the fleet CA and the site and central Mosquitto bundles.

    brexit broker ca --out ca/
    brexit broker site --config janti/*.toml --ca ca/ --central ncc.example.id:8883 --out janti/
    brexit broker central --site-dir janti/ --site-dir arjuno/ --ca ca/ --out central/

Passwords are written only to files (0600); nothing secret is printed.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mqtt_config import bundle, pki
from mqtt_config.render import (
    BrokerTuning,
    CentralBroker,
    Endpoint,
    ProvisionError,
    SiteBroker,
    SiteInventory,
    check_site,
)

DEFAULT_INSTALL = Path("/etc/brexit/mosquitto")
DEFAULT_DATA = Path("/var/lib/brexit/mosquitto")
DEFAULT_HOSTS = ("localhost", "127.0.0.1")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("broker", help="make broker configs, ACLs, CA and certificates")
    parser.set_defaults(func=lambda _args: _usage(parser))
    sub = parser.add_subparsers(dest="broker_command")
    _add_ca(sub)
    _add_site(sub)
    _add_central(sub)


def run(argv: Sequence[str]) -> int:
    """Run ``brexit broker ARGV`` (for tests and scripts that do not want the whole CLI)."""
    parser = argparse.ArgumentParser(prog="brexit")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["broker", *argv])
    status: int = args.func(args)
    return status


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _guarded(func: Any) -> Any:
    def wrapper(args: argparse.Namespace) -> int:
        try:
            status: int = func(args)
        except (ProvisionError, pki.ToolError, OSError, tomllib.TOMLDecodeError) as e:
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
    p.add_argument("--host", action="append", default=None,
                   help="name or IP in the server certificate (repeat; default localhost)")
    p.add_argument("--install-dir", type=Path, default=None,
                   help=f"where the bundle lives on the broker host (default {DEFAULT_INSTALL})")
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="persistence directory")
    p.add_argument("--run-user", default="mosquitto", help="user Mosquitto drops to as root")
    p.add_argument("--max-queued", type=int, default=1_000_000,
                   help="max_queued_messages per client (0 = unbounded)")
    p.add_argument("--autosave-interval", type=int, default=60)
    p.add_argument("--autosave-on-changes", action="store_true",
                   help="count changes instead of seconds (with interval 1: save every change)")


def _tuning(args: argparse.Namespace) -> BrokerTuning:
    return BrokerTuning(
        run_user=args.run_user,
        restart_timeout=getattr(args, "restart_timeout", "5 30"),
        max_queued_messages=args.max_queued,
        autosave_interval=args.autosave_interval,
        autosave_on_changes=args.autosave_on_changes,
        try_private=not getattr(args, "no_try_private", False),
    )


def _install_dir(args: argparse.Namespace) -> Path:
    return (args.install_dir or DEFAULT_INSTALL).absolute()


# --- site ----------------------------------------------------------------------------------

def _add_site(sub: Any) -> None:
    p = sub.add_parser("site", help="bundle for one puskesmas's site broker")
    p.add_argument("--config", type=Path, action="append", default=[],
                   help="a node's TOML config (repeat for every node of the site)")
    p.add_argument("--site", help="site id (instead of --config)")
    p.add_argument("--nodes", help="comma-separated node ids (instead of --config)")
    p.add_argument("--site-name", help="the puskesmas's name (with --site)")
    p.add_argument("--central", required=True, help="central broker HOST:PORT (TLS)")
    p.add_argument("--lan-port", type=int, default=1883)
    p.add_argument("--lan-bind", default="0.0.0.0")
    p.add_argument("--tls-port", type=int, default=8883)
    p.add_argument("--tls-bind", default="0.0.0.0")
    p.add_argument("--restart-timeout", default="5 30",
                   help='bridge reconnect delay: "BASE CAP" back-off or a constant "SECONDS"')
    p.add_argument("--no-try-private", action="store_true",
                   help="the central broker is not Mosquitto (e.g. NATS)")
    _add_common(p)
    p.set_defaults(func=_guarded(_cmd_site))


def _inventory(args: argparse.Namespace) -> SiteInventory:
    if args.config and (args.site or args.nodes):
        raise ProvisionError("--config: give node configs or --site/--nodes, not both")
    if args.config:
        docs = [tomllib.loads(path.read_text(encoding="utf-8")) for path in args.config]
        return SiteInventory.from_node_configs(docs)
    if not args.site or not args.nodes:
        raise ProvisionError("--site: give --config files, or --site and --nodes")
    nodes = [n.strip() for n in args.nodes.split(",") if n.strip()]
    return SiteInventory.of(args.site, nodes, args.site_name)


def _cmd_site(args: argparse.Namespace) -> int:
    inventory = _inventory(args)
    broker = SiteBroker(
        inventory=inventory,
        central=Endpoint.parse(args.central, "--central"),
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
    p.add_argument("--port", type=int, default=8883)
    p.add_argument("--bind", default="0.0.0.0")
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
