"""``brexit node``: run a node, on its hardware or simulated and driven from stdin.

Control lines in ``--simulate`` mode (one per line on stdin)::

    press NAME            NAME: a service code (A, B…), repeat, help, next-1, recall-1…
    hold NAME SECONDS     keep the button down (hold, or a stuck button)
    fault DEVICE STATE    DEVICE: printer | embosser; STATE: ok | paper_out | offline
    key N                 press routing key N (0-based) on the Braille cells
    cells                 print what the cells show (Unicode Braille, then the text)
    message TEXT          show a staff message on the cells (``message`` alone clears it)
    label JSON            pharmacy: make a medicine label (see edge/pharmacy/console.py)
    label-reprint NUMBER  pharmacy: make a kept label again
    ask TEXT              a staff question with answers on the cells; ``key N`` answers
    phrase N              quick phrase N of [aid] on the cells
    bpjs NUMBER CARD      staff register today's ticket NUMBER for BPJS (card: 13 digits)
    selftest              start the spoken self-test (it asks for each button: press it)
    health                print the node's health as JSON
    quit                  stop and exit 0
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from gpiozero.exc import GPIOZeroError

from edge import __version__
from edge.bpjs.calls import Patient
from edge.braille.codec import decode, to_unicode
from edge.config import ConfigError, MqttConfig, NodeConfig, load_config
from edge.context import Offline
from edge.mqtt.link import LinkOptions, MqttLink
from edge.node import Board, Hardware, Node
from edge.node_actions import CommandError
from edge.pharmacy import console as pharmacy_console
from edge.pharmacy.config import parse_listen
from edge.pharmacy.serve import form_listen, serve_form
from edge.pinmap import PinMap, default_pinmap_path
from edge.queue.db import secure_dir
from edge.sdnotify import SdNotify
from edge.simulation import Simulation, SimulationError, parse_seconds
from edge.speech.backends import Pyttsx3Backend


def register(sub: Any) -> None:
    p = sub.add_parser("node", help="run a puskesmas node", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, help="the node's TOML file (default: demo puskesmas)")
    p.add_argument("--data", type=Path, default=Path("data"), help="data directory")
    p.add_argument("--simulate", action="store_true", help="mock pins and emulated devices")
    p.add_argument("--speak", action="store_true", help="with --simulate: speak aloud")
    p.add_argument("--broker", metavar="HOST:PORT", help="the site MQTT broker")
    p.add_argument("--form", metavar="HOST:PORT",
                   help="pharmacy: where the label form listens (default: [pharmacy] listen)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        mqtt = mqtt_settings(config, parse_broker(args.broker) if args.broker else None)
        form = parse_listen(args.form) if args.form else config.pharmacy.listen
        if not args.simulate:
            check_real_roles(config)
    except (ConfigError, ValueError) as e:
        print(f"brexit node: {e}", file=sys.stderr)
        return 2
    try:
        private_data_dir(args.data)
    except OSError as e:
        print(f"brexit node: --data {args.data}: {e}", file=sys.stderr)
        return 1
    with ExitStack() as stack:
        sim = stack.enter_context(Simulation(config, args.data, speak=args.speak)) \
            if args.simulate else None
        hardware = sim.hardware() if sim else real_hardware(config)
        node = Node(config, args.data, hardware)
        node.ctx.listeners.append(console_listener(sys.stdout))
        if node.ctx.engine.damage is not None:
            print(f"brexit node: {node.ctx.engine.damage.message()}", file=sys.stderr, flush=True)
        try:
            node.start()
        except GPIOZeroError as e:
            print(f"brexit node: cannot reach the GPIO pins ({e}); on a machine that is not "
                  "a Raspberry Pi use --simulate", file=sys.stderr)
            return 1
        stack.callback(node.stop)
        link = start_link(node, config, mqtt) if mqtt is not None else None
        if link is not None:
            node.ctx.notifier = link
            stack.callback(link.close)
            # Runs first: a closed link raises LinkClosed when notified.
            stack.callback(setattr, node.ctx, "notifier", Offline())
        if node.pharmacy is not None:
            try:
                web, where = serve_form(node, args.data, form, simulate=args.simulate)
            except OSError as e:
                host, port = form_listen(form, simulate=args.simulate)
                print(f"brexit node: pharmacy form cannot listen on {host}:{port}: "
                      f"{e.strerror or e}", file=sys.stderr)
                return 1
            stack.callback(web.close)
            print(where, flush=True)
        print(f"ready {config.site}/{config.node} roles={','.join(sorted(config.roles))}",
              flush=True)
        systemd = SdNotify.from_environment()
        systemd.ready(f"{config.site}/{config.node}")
        if sim is not None:
            return control_loop(sim, node, sys.stdin, sys.stdout)
        wait_for_signal(systemd, node.health)
        systemd.stopping()
    return 0


DATA_SUBDIRS = ("embossed", "printed", "speech")


def private_data_dir(data: Path) -> None:
    """The data directory holds patients' tickets: files 0600, directories 0700.

    The umask covers what the node creates from now on; existing directories are mended.
    """
    os.umask(0o077)
    secure_dir(data)
    for sub in DATA_SUBDIRS:
        if (data / sub).is_dir():
            secure_dir(data / sub)


def parse_broker(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--broker: expected HOST:PORT, got {text!r}")
    return host, int(port)


def check_real_roles(config: NodeConfig) -> None:
    if len({"kiosk", "caller", "pharmacy"} & config.roles) > 1 and not (
            config.roles & {"kiosk", "caller"} == {"kiosk"}):
        raise ConfigError(
            f"{config.source}: roles: the kiosk and counter boards use the same GPIO lines; "
            "on real hardware give each its own node (both are allowed with --simulate)"
        )


def real_hardware(config: NodeConfig) -> Hardware:
    pinmap = config.pinmap or default_pinmap_path()
    return Hardware(
        speech=Pyttsx3Backend(config.speaker.voice, config.speaker.rate),
        kiosk=Board(PinMap.load(pinmap, "kiosk")) if config.roles & {"kiosk", "pharmacy"}
        else None,
        counter=Board(PinMap.load(pinmap, "counter")) if "caller" in config.roles else None,
        embosser_url=config.embosser.url,
        printer_url=config.printer.url,
        cells_url=config.cells.url,
    )


def mqtt_settings(config: NodeConfig, broker: tuple[str, int] | None) -> MqttConfig | None:
    """The node's broker settings: ``[mqtt]`` of its config, ``--broker`` overriding where."""
    if config.mqtt is None:
        if broker is None:
            return None
        raise ConfigError(
            f"{config.source}: mqtt: --broker needs the node's login in [mqtt] (username and "
            "password or password_file), or allow_anonymous = true for development"
        )
    if broker is None:
        return config.mqtt
    return replace(config.mqtt, host=broker[0], port=broker[1])


def start_link(node: Node, config: NodeConfig, mqtt: MqttConfig) -> MqttLink:
    """The MQTT link to the site broker; the node's notifier from now on."""
    link = MqttLink(mqtt, site=config.site, node=config.node, roles=sorted(config.roles),
                    version=__version__, outbox_path=node.ctx.engine.db_path, actions=node,
                    options=LinkOptions(backlog_warn=mqtt.backlog_warn))
    link.start()
    return link


def console_listener(out: TextIO) -> Callable[[str, dict[str, object]], None]:
    lock = threading.Lock()

    def listener(what: str, data: dict[str, object]) -> None:
        fields = " ".join(f"{k}={v}" for k, v in data.items())
        with lock:
            print(f"{what} {fields}".rstrip(), file=out, flush=True)

    return listener


def control_loop(sim: Simulation, node: Node, inp: TextIO, out: TextIO) -> int:
    for raw in inp:
        words = raw.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        try:
            reply = control(sim, node, words)
        except (SimulationError, ValueError, CommandError) as e:
            reply = f"error {e}"
        if reply:
            print(reply, file=out, flush=True)
    node.ctx.speech.wait_idle(30)
    for worker in (node.ctx.embosser, node.ctx.printer):
        if worker is not None:
            worker.drain()
    return 0


def control(sim: Simulation, node: Node, words: list[str]) -> str | None:
    match words:
        case ["press", name]:
            sim.press(name)
        case ["hold", name, seconds]:
            sim.press(name, parse_seconds(seconds))
        case ["fault", device, state]:
            set_fault(sim, device, state)
        case ["health"]:
            return json.dumps(node.health(), sort_keys=True)
        case ["key", n]:
            sim.press_key(n)
        case ["cells"] if sim.cells is not None:
            dots = sim.cells.dots()
            return f"cells {to_unicode(dots)} {decode(dots).strip()}"
        case [word, *_] if word in pharmacy_console.WORDS:
            return pharmacy_console.control(node, words)
        case ["message", *text]:
            shown = node.show_message(" ".join(text))
            if shown["pages"] > 1:
                return (f"message in {shown['pages']} pages of {node.config.cells.width} "
                        "cells: the last routing key shows the next")
        case ["selftest"]:  # a person at the node: it asks for each button
            return f"selftest {json.dumps(node.selftests.start('kiosk'), sort_keys=True)}"
        case ["bpjs", number, card]:
            node.bpjs_register(number, Patient(card))
            return f"bpjs {number} registered"
        case _:
            raise ValueError(f"unknown control line: {' '.join(words)!r}")
    return None


def set_fault(sim: Simulation, device: str, state: str) -> None:
    emulator = {"printer": sim.printer, "embosser": sim.embosser}.get(device)
    if emulator is None:
        raise ValueError(f"no emulated {device!r}")
    if state not in ("ok", "paper_out", "offline"):
        raise ValueError(f"fault state must be ok, paper_out or offline, got {state!r}")
    emulator.paper_out = state == "paper_out"
    emulator.offline = state == "offline"


def wait_for_signal(systemd: SdNotify, probe: Callable[[], object]) -> None:
    """Until SIGTERM/SIGINT: feed systemd's watchdog while ``probe`` (the node) answers."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    systemd.keep_alive(stop, probe)
