"""``brexit ncc bench ingest|fleet``: the benchmarks' command line; JSON is the last line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ncc.bench.broker import BenchError


def register(sub: Any) -> None:
    p = sub.add_parser("bench", help="benchmarks of the NCC (JSON as the last line)")
    kinds = p.add_subparsers(dest="bench_command", required=True)
    ingest = kinds.add_parser("ingest", help="the NCC's ingest against mosquitto_sub")
    ingest.add_argument("--messages", type=int, default=100_000, help="default %(default)s")
    ingest.add_argument("--nodes", type=int, default=300,
                        help="nodes the backlog comes from (default %(default)s)")
    ingest.add_argument("--keep", type=Path, default=None,
                        help="keep the broker log and database in this directory")
    ingest.set_defaults(func=_ingest)

    fleet = kinds.add_parser("fleet", help="the NCC serving while the simulator runs the fleet")
    fleet.add_argument("--sites", type=int, default=10_000, help="default %(default)s")
    fleet.add_argument("--nodes-per-site", type=int, default=3, help="default %(default)s")
    fleet.add_argument("--duration", type=float, default=300.0, help="default %(default)s s")
    fleet.add_argument("--seed", type=int, default=1)
    fleet.add_argument("--hold-down", type=float, default=30.0,
                       help="the NCC's alarm hold-down (default %(default)s s)")
    fleet.add_argument("--fault-rate", type=float, default=0.2,
                       help="faults per node per hour (default %(default)s)")
    fleet.add_argument("--fault-s", type=float, default=150.0,
                       help="how long a fault lasts (default %(default)s s)")
    fleet.add_argument("--health-interval", type=float, default=30.0,
                       help="the nodes' health interval, also the NCC's (default %(default)s s)")
    fleet.add_argument("--will-after", type=float, default=45.0,
                       help="a vanished node's Will after this long (default %(default)s s)")
    fleet.add_argument("--kill-at", type=float, default=None,
                       help="SIGKILL the NCC this many seconds in and start it again")
    fleet.add_argument("--down", type=float, default=5.0,
                       help="seconds the killed NCC stays down (default %(default)s)")
    fleet.add_argument("--connections", type=int, default=0,
                       help="the simulator's shared connections (default: its own choice)")
    fleet.add_argument("--broker", default=None,
                       help="use this HOST:PORT (e.g. a NATS MQTT gateway) for the NCC "
                            "instead of a fresh Mosquitto")
    fleet.add_argument("--broker-sim", default=None,
                       help="the simulator's HOST:PORT (default: --broker)")
    fleet.add_argument("--nats", action="store_true",
                       help="start a 3-server NATS JetStream cluster and run against its "
                            "MQTT gateways (the simulator on one server, the NCC on another)")
    fleet.add_argument("--keep", type=Path, default=None,
                       help="keep logs, the database and the simulator's record here")
    fleet.set_defaults(func=_fleet)


def _ingest(args: argparse.Namespace) -> int:
    from ncc.bench import ingest

    if not 1 <= args.messages <= 10_000_000:
        return _bad("--messages: between 1 and 10000000")
    if not 1 <= args.nodes <= 100_000:
        return _bad("--nodes: between 1 and 100000")
    try:
        return ingest.main(args.messages, args.nodes, args.keep)
    except BenchError as e:
        print(f"brexit ncc bench: {e}", file=sys.stderr)
        return 1


def _fleet(args: argparse.Namespace) -> int:
    from ncc.bench import fleet

    checks = (("--sites", 1 <= args.sites <= 100_000),
              ("--nodes-per-site", 1 <= args.nodes_per_site <= 32),
              ("--duration", 10 <= args.duration <= 86_400),
              ("--hold-down", args.hold_down >= 0), ("--fault-rate", args.fault_rate >= 0),
              ("--fault-s", args.fault_s > 0), ("--will-after", args.will_after >= 0),
              ("--health-interval", args.health_interval > 0),
              ("--down", args.down >= 0),
              ("--kill-at", args.kill_at is None or 0 < args.kill_at < args.duration))
    for name, ok in checks:
        if not ok:
            return _bad(f"{name}: out of range")
    for name in ("broker", "broker_sim"):
        value = getattr(args, name)
        if value is not None:
            host, sep, port = value.rpartition(":")
            if not sep or not host or not port.isdigit():
                return _bad(f"--{name.replace('_', '-')}: {value!r} is not HOST:PORT")
    bench = fleet.FleetBench(
        sites=args.sites, nodes_per_site=args.nodes_per_site, duration_s=args.duration,
        seed=args.seed, hold_down_s=args.hold_down, fault_rate=args.fault_rate,
        fault_s=args.fault_s, will_after_s=args.will_after, kill_at_s=args.kill_at,
        down_s=args.down, health_interval_s=args.health_interval,
        broker=args.broker, broker_sim=args.broker_sim, connections=args.connections)
    try:
        if args.nats:
            from ncc.bench import nats

            return nats.main(bench, args.keep)
        return fleet.main(bench, args.keep)
    except BenchError as e:
        print(f"brexit ncc bench: {e}", file=sys.stderr)
        return 1


def _bad(text: str) -> int:
    print(f"brexit ncc bench: {text}", file=sys.stderr)
    return 2
