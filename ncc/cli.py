"""``brexit ncc``: serve the NCC monitor, run the whole demo, add users and tokens.

Bad input (config, fleet file, role, password) gets one clear line and exit status 2.
"""

from __future__ import annotations

import argparse
import getpass
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from contract.fleet import FleetError, load_fleet
from mqtt_config.pki import ToolError
from ncc.config import ConfigError, NccConfig, load_config

EXIT_BAD_INPUT = 2


class CliError(Exception):
    """One line for the user; exit status 2."""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("ncc", help="the NCC monitor (Ngalam Command Center)")
    sub = p.add_subparsers(dest="ncc_command", required=True)

    serve = sub.add_parser("serve", help="ingest the central broker and serve the dashboard")
    serve.add_argument("--config", type=Path, default=None,
                       help="ncc.toml (default: the embedded development default)")
    serve.set_defaults(func=_guarded(_serve))

    demo = sub.add_parser("demo", help="broker + 16 simulated puskesmas + NCC, on loopback")
    demo.add_argument("--listen", default="127.0.0.1:8080",
                      help="dashboard HOST:PORT (a free port when busy; default %(default)s)")
    demo.add_argument("--data", type=Path, default=None,
                      help="keep the demo's files here (default: a temporary directory)")
    demo.add_argument("--seed", type=int, default=1, help="the simulation's random seed")
    demo.add_argument("--fleet", type=Path, default=None,
                      help="the inventory (default: the project's deploy/fleet.toml, installed "
                           "with it)")
    demo.set_defaults(func=_guarded(_demo))

    report = sub.add_parser("report", help="the monthly impact report (PDF or CSV)")
    report.add_argument("--month", required=True, help="YYYY-MM, e.g. 2026-11")
    report.add_argument("--site", default=None, help="one puskesmas only (its id)")
    report.add_argument("--out", type=Path, required=True, help="FILE.pdf or FILE.csv")
    report.add_argument("--config", type=Path, default=None, help="ncc.toml (its store.path)")
    report.set_defaults(func=_guarded(_report))

    from ncc.bench.cli import register as register_bench
    from ncc.simulate.cli import register as register_simulate

    register_simulate(sub)
    register_bench(sub)

    for name, help_text, func in (("user", "add or update a dashboard login", _user_add),
                                  ("token", "add a bearer token (scripts, Prometheus)",
                                   _token_add)):
        group = sub.add_parser(name, help=help_text).add_subparsers(
            dest=f"{name}_command", required=True)
        add = group.add_parser("add", help=help_text)
        add.add_argument("name")
        add.add_argument("--role", required=True, help="viewer or operator")
        add.add_argument("--config", type=Path, default=None, help="ncc.toml (its store.path)")
        add.set_defaults(func=_guarded(func))


def _guarded(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except (CliError, ConfigError, FleetError, ToolError, ValueError) as e:
            print(f"brexit ncc: {e}", file=sys.stderr)
            return EXIT_BAD_INPUT

    return run


def _config(path: Path | None) -> NccConfig:
    config = load_config(path)
    load_fleet(config.fleet.path)  # a broken inventory stops us here, with its field
    return config


def _report(args: argparse.Namespace) -> int:
    from ncc import report

    config = _config(args.config)
    print(report.run(config.store.path, load_fleet(config.fleet.path), args.month, args.out,
                     args.site))
    return 0


# --- serve ---------------------------------------------------------------------------------

def _serve(args: argparse.Namespace) -> int:
    config = _config(args.config)
    from ncc.auth import Auth
    from ncc.monitor import Monitor
    from ncc.runtime import tune_gc
    from ncc.web.server import WebServer

    # the handlers first: a Ctrl-C as soon as the first line is out is a clean stop
    with _signals() as stop:
        monitor = Monitor(config)
        tune_gc()  # what start-up read is frozen out of the collector (ncc/runtime.py)
        monitor.start()
        web = None
        try:
            auth = Auth(config.store.path)
            web = WebServer(monitor, auth, listen=config.http.listen,
                            metrics_open=config.http.metrics_open).start()
            print(f"dashboard: {web.url}", flush=True)
            print(f"broker: {config.mqtt.host}:{config.mqtt.port}; database: {config.store.path}",
                  flush=True)
            _wait(stop)
        finally:
            if web is not None:
                web.close()
            monitor.close()
        return 0


@contextmanager
def _signals() -> Iterator[threading.Event]:
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in
                (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _wait(stop: threading.Event) -> None:
    while not stop.wait(0.5):
        pass


# --- demo ----------------------------------------------------------------------------------

def _demo(args: argparse.Namespace) -> int:
    from mqtt_config.process import free_port, port_free
    from ncc import demo, history
    from ncc.auth import Auth, Role
    from ncc.monitor import Monitor
    from ncc.sim import SimFleet
    from ncc.web.server import WebServer

    listen = _listen(args.listen)
    fleet = demo.demo_fleet(args.fleet)
    if not port_free(*listen):
        listen = (listen[0], 0)
    root, temporary = demo.demo_root(args.data)
    central = demo.provision_central(root, fleet, free_port())
    # the handlers first: a Ctrl-C as soon as the first line is out is a clean stop
    with _signals() as stop:
        broker = demo.central_broker(central).start()
        monitor = web = sims = None
        try:
            config = demo.demo_config(root, central, listen)
            seeded = history.seed_store(config.store.path, fleet, seed=args.seed)
            monitor = Monitor(config, fleet=fleet).start()
            password = demo.new_password()
            auth = Auth(config.store.path)
            auth.add_user(demo.DEMO_USER, Role.OPERATOR, password)
            web = WebServer(monitor, auth, listen=listen).start()
            print(f"dashboard: {web.url}", flush=True)
            print(f"login: {demo.DEMO_USER} {password}", flush=True)
            address, login = demo.sim_broker(central)
            away = (fleet.sites[-1].id, fleet.sites[-1].nodes[-1].id, 90.0, 300.0)
            sims = SimFleet(fleet, address, login=login, seed=args.seed, away=away).start()
            print(f"broker: mqtts://127.0.0.1:{central.port} (log {central.log}); "
                  f"{sum(len(s.nodes) for s in fleet.sites)} simulated nodes in "
                  f"{len(fleet.sites)} puskesmas; files in {root}", flush=True)
            print(seeded, flush=True)
            print("Ctrl-C stops everything.", flush=True)
            _wait(stop)
        finally:
            for part in (sims, web, monitor):
                if part is not None:
                    part.close()
            broker.stop()
            if temporary:
                import shutil

                shutil.rmtree(root, ignore_errors=True)
        print("demo stopped.", flush=True)
        return 0


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise CliError(f"--listen: {text!r} is not HOST:PORT")
    return host, int(port)


# --- users and tokens ----------------------------------------------------------------------

def _read_password(name: str) -> str:
    if sys.stdin.isatty():
        first = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("again: ") != first:
            raise CliError("the two passwords differ")
        return first
    line = sys.stdin.readline()
    if not line:
        raise CliError("no password on stdin")
    return line.rstrip("\r\n")


def _user_add(args: argparse.Namespace) -> int:
    from ncc.auth import Auth, Role

    config = load_config(args.config)
    role = Role.parse(args.role)
    password = _read_password(args.name)
    Auth(config.store.path).add_user(args.name, role, password)
    print(f"user {args.name}: {role.value}; database {config.store.path}")
    return 0


def _token_add(args: argparse.Namespace) -> int:
    from ncc.auth import Auth, Role

    config = load_config(args.config)
    role = Role.parse(args.role)
    token = Auth(config.store.path).add_token(args.name, role)
    print(token)
    print(f"token {args.name}: {role.value}; shown once, keep it secret", file=sys.stderr)
    return 0
