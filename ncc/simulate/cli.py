"""``brexit ncc simulate``: the fleet simulator's command line (one error line, exit 2)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from contract.topics import is_valid_id
from ncc.sim import Broker
from ncc.simulate.fleet import FleetRun, FleetSpec
from ncc.simulate.profile import local_hour


class UsageError(ValueError):
    """A bad option: one line naming it."""


def host_port(text: str, option: str = "--broker") -> tuple[str, int]:
    """``HOST:PORT`` parsed; UsageError naming ``option`` when it is not one.

    >>> host_port("127.0.0.1:1883")
    ('127.0.0.1', 1883)
    >>> host_port("localhost")
    Traceback (most recent call last):
    ...
    ncc.simulate.cli.UsageError: --broker: 'localhost' is not HOST:PORT
    """
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) <= 65535:
        raise UsageError(f"{option}: {text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def broker_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--broker", required=True, help="the central broker, HOST:PORT")
    p.add_argument("--username", default=None, help="MQTT login (e.g. a bridge account)")
    p.add_argument("--password-file", type=Path, default=None,
                   help="a file whose first line is the password")
    p.add_argument("--tls-ca", type=Path, default=None,
                   help="CA certificate: connect with TLS and check the broker against it")


def broker_from(args: argparse.Namespace) -> Broker:
    host, port = host_port(args.broker)
    password = None
    if args.password_file is not None:
        try:
            password = args.password_file.read_text(encoding="utf-8").splitlines()[0]
        except (OSError, UnicodeDecodeError, IndexError) as e:
            raise UsageError(f"--password-file: cannot read {args.password_file}: "
                             f"{getattr(e, 'strerror', None) or e}") from None
    if args.tls_ca is not None and not args.tls_ca.is_file():
        raise UsageError(f"--tls-ca: {args.tls_ca} is not a file")
    return Broker(host, port, args.username, password,
                  str(args.tls_ca) if args.tls_ca else None)


def register(sub: Any) -> None:
    p = sub.add_parser("simulate", help="simulate a fleet of nodes against a central broker")
    broker_options(p)
    p.add_argument("--sites", type=int, required=True, help="how many puskesmas")
    p.add_argument("--nodes-per-site", type=int, default=3, help="default %(default)s")
    p.add_argument("--duration", type=float, required=True, help="seconds to run")
    p.add_argument("--seed", type=int, default=1, help="default %(default)s")
    p.add_argument("--connections", type=int, default=0,
                   help="shared MQTT connections (default: one per 1,250 sites, 1-16)")
    p.add_argument("--clock", default="08:30",
                   help="simulated local time at the start, HH:MM (default %(default)s, "
                        "the morning peak)")
    p.add_argument("--fault-rate", type=float, default=0.2,
                   help="faults per node per hour (default %(default)s)")
    p.add_argument("--fault-s", type=float, default=150.0,
                   help="how long a fault lasts, ±30%% (default %(default)s)")
    p.add_argument("--will-after", type=float, default=45.0,
                   help="a vanished node's Will comes this long after (the site broker's "
                        "1.5 keepalive; default %(default)s s)")
    p.add_argument("--health-interval", type=float, default=30.0, help="default %(default)s s")
    p.add_argument("--drain", type=float, default=30.0,
                   help="after the duration: seconds to wait for the last acks")
    p.add_argument("--site-prefix", default="pkm", help="site ids are PREFIX-00001...")
    p.add_argument("--record", type=Path, default=None,
                   help="write every node's epoch/seq/acked and every fault here (JSON)")
    p.add_argument("--progress", type=float, default=10.0, help="seconds between progress lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        spec = FleetSpec(
            sites=args.sites, nodes_per_site=args.nodes_per_site, duration_s=args.duration,
            seed=args.seed, connections=args.connections, start_hour=local_hour(args.clock),
            fault_rate=args.fault_rate, fault_s=args.fault_s, will_after_s=args.will_after,
            health_interval_s=args.health_interval, drain_s=args.drain,
            site_prefix=args.site_prefix)
        if not is_valid_id(spec.site_id(spec.sites)):
            raise UsageError(f"--site-prefix: {args.site_prefix!r} makes invalid site ids")
        broker = broker_from(args)
        if args.progress <= 0:
            raise UsageError("--progress: must be above 0")
    except ValueError as e:
        print(f"brexit ncc simulate: {e}", file=sys.stderr)
        return 2
    fleet = FleetRun(spec, broker, progress_s=args.progress)
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in
                (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"simulating {spec.sites} sites x {spec.nodes_per_site} nodes on "
              f"{spec.connection_count} connections to {broker.host}:{broker.port} for "
              f"{spec.duration_s:g} s", flush=True)
        summary = fleet.run(stop=stop.is_set)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if args.record is not None:
        fleet.write_record(args.record)
    print(f"sent {summary.published} messages; events {summary.events}, acked "
          f"{summary.acked}, unacked {summary.unacked}, re-sent {summary.resent}; faults "
          f"{sum(summary.faults.values())}", flush=True)
    if summary.error:
        print(f"brexit ncc simulate: {summary.error}", file=sys.stderr)
    print(summary.to_json(), flush=True)
    return 1 if summary.error else 0
