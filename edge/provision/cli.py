"""``brexit fleet`` and ``brexit provision``: from the inventory to a node's seeded image.

    brexit fleet check [--fleet deploy/fleet.toml]
    brexit fleet node-config --site dinoyo [--node kios-1] [--out DIR]
    brexit provision --site dinoyo --node kios-1 --bundle dinoyo-broker/ \\
        --ssh-key ~/.ssh/id_ed25519.pub --image golden.img --out dinoyo-kios-1.img
    brexit provision … --boot-dir /media/$USER/bootfs

Nothing secret is printed; bad input is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contract.fleet import FleetError, check_fleet, default_path, load_fleet
from edge.provision import nodeconfig
from edge.provision.bootpart import BootPartitionError
from edge.provision.provision import (
    FORMATS,
    ProvisionError,
    Request,
    provision_dir,
    provision_image,
    read_ssh_keys,
)
from edge.provision.seed import SeedFile

ERRORS = (FleetError, ProvisionError, BootPartitionError, OSError)


def register(sub: Any) -> None:
    _register_fleet(sub)
    _register_provision(sub)


def _guarded(prog: str, func: Callable[[argparse.Namespace], int]
             ) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except ERRORS as e:
            print(f"{prog}: {e}", file=sys.stderr)
            return 2

    return run


def _add_fleet_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fleet", type=Path, default=default_path(),
                   help="the inventory (default: deploy/fleet.toml)")


# --- brexit fleet ---------------------------------------------------------------------------

def _register_fleet(sub: Any) -> None:
    p = sub.add_parser("fleet", help="check the inventory; derive node configs from it")
    p.set_defaults(func=lambda _args: _usage(p))
    fsub = p.add_subparsers(dest="fleet_command")
    check = fsub.add_parser("check", help="list every problem of the inventory, one per line")
    _add_fleet_option(check)
    check.set_defaults(func=_guarded("brexit fleet check", _cmd_check))
    conf = fsub.add_parser("node-config", help="a node's node.toml, derived from the inventory")
    _add_fleet_option(conf)
    conf.add_argument("--site", required=True)
    conf.add_argument("--node", help="one node (default: every node of the site, needs --out)")
    conf.add_argument("--out", type=Path, help="directory for {node}.toml (default: stdout)")
    conf.set_defaults(func=_guarded("brexit fleet node-config", _cmd_node_config))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _cmd_check(args: argparse.Namespace) -> int:
    fleet = load_fleet(args.fleet)
    problems = check_fleet(fleet)
    for line in problems:
        print(line)
    if problems:
        print(f"{args.fleet}: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    nodes = sum(len(s.nodes) for s in fleet.sites)
    print(f"{args.fleet}: {len(fleet.sites)} sites, {nodes} nodes, no problems")
    return 0


def _cmd_node_config(args: argparse.Namespace) -> int:
    fleet = load_fleet(args.fleet)
    site = fleet.site(args.site)
    nodes = [site.node(args.node)] if args.node else list(site.nodes)
    if args.out is None:
        if len(nodes) != 1:
            raise ProvisionError("--out: give a directory to write every node of the site")
        sys.stdout.write(nodeconfig.render(nodeconfig.node_config(fleet, site.id, nodes[0].id)))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for node in nodes:
        text = nodeconfig.render(nodeconfig.node_config(fleet, site.id, node.id))
        (args.out / f"{node.id}.toml").write_text(text, encoding="utf-8")
        print(f"{args.out / f'{node.id}.toml'}")
    return 0


# --- brexit provision -----------------------------------------------------------------------

def _register_provision(sub: Any) -> None:
    p = sub.add_parser("provision", help="write a node's seed into an image or a boot partition",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_fleet_option(p)
    p.add_argument("--site", required=True)
    p.add_argument("--node", required=True)
    p.add_argument("--bundle", type=Path, required=True,
                   help="the site's broker bundle (made by `brexit broker site`)")
    p.add_argument("--ssh-key", type=Path, action="append", default=[], required=True,
                   help="the technician's SSH public key file (repeat for more)")
    p.add_argument("--admin-user", default="teknisi", help="the technician's login on the node")
    p.add_argument("--wifi-password-file", type=Path, help="the site's Wi-Fi password")
    p.add_argument("--format", choices=sorted(FORMATS), default="cloud-init")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--image", type=Path, help="the golden image (with --out)")
    where.add_argument("--boot-dir", type=Path, help="a mounted boot partition (SD card)")
    p.add_argument("--out", type=Path, help="the node's image (with --image)")
    p.set_defaults(func=_guarded("brexit provision", _cmd_provision))


def _cmd_provision(args: argparse.Namespace) -> int:
    if args.image is not None and args.out is None:
        raise ProvisionError("--out: give the file to write the node's image to")
    if args.boot_dir is not None and args.out is not None:
        raise ProvisionError("--out: only with --image (--boot-dir writes in place)")
    req = Request(fleet=load_fleet(args.fleet), site=args.site, node=args.node,
                  bundle=args.bundle, ssh_keys=read_ssh_keys(args.ssh_key),
                  admin_user=args.admin_user, wifi_password=_wifi(args.wifi_password_file),
                  format=args.format)
    if args.image is not None:
        files = provision_image(req, args.image, args.out)
        where = str(args.out)
    else:
        files = provision_dir(req, args.boot_dir)
        where = str(args.boot_dir)
    print(f"{args.site}/{args.node}: {_summary(files)} written to {where}")
    return 0


def _wifi(path: Path | None) -> str | None:
    if path is None:
        return None
    text = path.read_text(encoding="utf-8").strip()
    if not 8 <= len(text) <= 63:
        raise ProvisionError(f"--wifi-password-file: {path}: a WPA password has 8-63 characters")
    return text


def _summary(files: list[SeedFile]) -> str:
    meta = next((f for f in files if f.path == "meta-data"), None)
    instance = ""
    if meta is not None:
        instance = meta.data.decode().split("instance-id:", 1)[1].split()[0]
    return f"{len(files)} files (instance-id {instance})" if instance else f"{len(files)} files"

