"""``brexit bpjs``: check a node's BPJS set-up, register or cancel a ticket, see the tally.

Registration is staff's job at the counter: the patient's card number (or NIK) goes only
into the node's own database and to BPJS, never over MQTT nor into a log.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from edge.bpjs.calls import Patient, PatientError
from edge.bpjs.store import BpjsStore, RegistrationError
from edge.config import ConfigError, load_config

NUMBER_HELP = "ticket number of today, e.g. A-012"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("bpjs", help="BPJS Antrean FKTP (Mobile JKN) at this node")
    cmds = p.add_subparsers(dest="bpjs_command", required=True)
    check = cmds.add_parser("check", help="check [bpjs] in a node config and its credentials")
    check.add_argument("--config", type=Path, required=True)
    check.set_defaults(func=_check)
    reg = cmds.add_parser("register", help="tie a ticket to a BPJS patient")
    reg.add_argument("number", help=NUMBER_HELP)
    who = reg.add_mutually_exclusive_group(required=True)
    who.add_argument("--kartu", default="", help="BPJS card number (13 digits)")
    who.add_argument("--nik", default="", help="NIK (16 digits)")
    reg.add_argument("--hp", default="", help="patient's phone number")
    reg.add_argument("--rm", default="", help="medical record number (norm)")
    reg.add_argument("--data", type=Path, default=Path("data"))
    reg.set_defaults(func=_register)
    cancel = cmds.add_parser("cancel", help="cancel a registered ticket at BPJS")
    cancel.add_argument("number", help=NUMBER_HELP)
    cancel.add_argument("--alasan", required=True, help="reason, e.g. 'pasien pulang'")
    cancel.add_argument("--data", type=Path, default=Path("data"))
    cancel.set_defaults(func=_cancel)
    status = cmds.add_parser("status", help="calls pending, accepted and refused")
    status.add_argument("--data", type=Path, default=Path("data"))
    status.set_defaults(func=_status)


def _fail(message: str) -> int:
    print(f"brexit bpjs: {message}", file=sys.stderr)
    return 2


def _now() -> datetime:
    return datetime.now(ZoneInfo("Asia/Jakarta"))


def _store(data: Path) -> BpjsStore:
    db = data / "queue.db"
    if not db.is_file():
        raise RegistrationError(f"no queue database at {db} (is --data the node's data?)")
    return BpjsStore(db)


def _check(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as e:
        return _fail(str(e))
    if config.bpjs is None:
        return _fail(f"{args.config}: no [bpjs] table: BPJS is off for this node")
    missing = sorted({s.code for s in config.services} - set(config.bpjs.poli))
    note = f"; services without a poli (not sent): {', '.join(missing)}" if missing else ""
    print(f"bpjs: ok, {len(config.bpjs.poli)} poli, {config.bpjs.base_url}{note}")
    return 0


def _register(args: argparse.Namespace) -> int:
    try:
        store = _store(args.data)
        try:
            store.register(args.number, Patient(args.kartu, args.nik, args.hp, args.rm),
                           now=_now())
        finally:
            store.close()
    except (RegistrationError, PatientError) as e:
        return _fail(str(e))
    print(f"bpjs: {args.number} registered; the running node sends it to BPJS")
    return 0


def _cancel(args: argparse.Namespace) -> int:
    try:
        store = _store(args.data)
        try:
            store.cancel(args.number, args.alasan, now=_now())
        finally:
            store.close()
    except RegistrationError as e:
        return _fail(str(e))
    print(f"bpjs: cancellation of {args.number} queued")
    return 0


def _status(args: argparse.Namespace) -> int:
    try:
        store = _store(args.data)
    except RegistrationError as e:
        return _fail(str(e))
    try:
        t = store.tally()
    finally:
        store.close()
    print(f"bpjs: {t.pending} pending, {t.accepted} accepted, {t.refused} refused")
    return 0
