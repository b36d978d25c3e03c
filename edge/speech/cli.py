"""``brexit announce``: say a ticket or a call, print its sentence, or write it as WAV.

    brexit announce ticket A-007 --service "Poli Umum" --ahead 3
    brexit announce call A12 --counter 2 --wav call.wav
    brexit announce call A-012 --counter 2 --recall --text
"""

from __future__ import annotations

import argparse
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from edge.cli import int_in
from edge.devices.state import DeviceError
from edge.speech.audio import write_wav
from edge.speech.backends import (
    DEFAULT_RATE_WPM,
    Pyttsx3Backend,
    Pyttsx3Synth,
    Utterance,
    render_utterance,
)
from edge.speech.phrases import call_sentence, parse_number, recall_sentence, ticket_sentence
from edge.ticket import TicketView

MAX_COUNTER = 99  # more counters than any puskesmas has: a typing mistake
MAX_AHEAD = 9999  # a day's serials are at most four digits
ESPEAK_RATES = range(80, 451)  # words per minute espeak-ng accepts (espeakRATE_MINIMUM..MAXIMUM)


def _number(text: str) -> str:
    try:
        return str(parse_number(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a queue number: {text!r} (examples: A-012, A12)"
        ) from None


def _service(text: str) -> str:
    name = " ".join(text.split())
    if not name:
        raise argparse.ArgumentTypeError("must not be empty")
    bad = next((c for c in name if not c.isprintable()), None)
    if bad is not None:
        raise argparse.ArgumentTypeError(f"unprintable character {bad!r} in {text!r}")
    return name


def _wav(text: str) -> Path:
    path = Path(text)
    if not text or path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory, not a file name")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"no directory {str(path.parent)!r} to write into")
    return path


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "announce", help="say a ticket or a call in Indonesian", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    kinds = parser.add_subparsers(dest="kind", required=True)
    ticket = kinds.add_parser("ticket", help="the sentence a patient hears at the kiosk")
    ticket.add_argument("number", metavar="NUMBER", type=_number, help="A-012 or A12")
    ticket.add_argument("--service", type=_service, required=True,
                        help='service name, e.g. "Poli Umum"')
    ticket.add_argument("--ahead", type=int_in(0, MAX_AHEAD), default=0,
                        help="tickets before it")
    call = kinds.add_parser("call", help="a call to a counter (chime first)")
    call.add_argument("number", metavar="NUMBER", type=_number, help="A-012 or A12")
    call.add_argument("--counter", type=int_in(1, MAX_COUNTER), required=True,
                      help="counter number")
    call.add_argument("--service", type=_service, default=None, help="service name to include")
    call.add_argument("--recall", action="store_true", help="a repeated call")
    for sub in (ticket, call):
        _add_output_options(sub)
    parser.set_defaults(func=run)


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--text", action="store_true", help="print the sentence, do not speak")
    out.add_argument("--wav", type=_wav, metavar="FILE", help="write the audio to FILE")
    parser.add_argument("--voice", default="id", help="espeak-ng voice (default: id)")
    parser.add_argument("--rate", type=int_in(ESPEAK_RATES.start, ESPEAK_RATES.stop - 1),
                        default=DEFAULT_RATE_WPM, help="words per minute, 80..450")
    parser.add_argument("--device", default=None, help="ALSA device for aplay -D")


def utterance_for(args: argparse.Namespace) -> Utterance:
    """The sentence (and whether a chime precedes it) the arguments ask for."""
    if args.kind == "ticket":
        code = args.number.split("-", 1)[0]
        view = TicketView(args.number, code, args.service, datetime.now(), args.ahead, "")
        return Utterance(ticket_sentence(view), "kiosk")
    sentence = recall_sentence if args.recall else call_sentence
    text = sentence(args.number, args.counter, args.service)
    return Utterance(text, f"counter-{args.counter}", chime=True)


def run(args: argparse.Namespace) -> int:
    utterance = utterance_for(args)
    if args.text:
        print(utterance.text)
        return 0
    try:
        if args.wav is not None:
            _write(utterance, args.wav, args.voice, args.rate)
        else:
            _speak(utterance, args.voice, args.rate, args.device)
    except DeviceError as exc:
        print(f"brexit announce: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"brexit announce: cannot write {args.wav}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def _write(utterance: Utterance, path: Path, voice: str, rate: int) -> None:
    with path.open("wb"):  # fail here, with the OS's reason, before rendering anything
        pass
    synth = Pyttsx3Synth(voice, rate)
    synth.open()
    try:
        write_wav(path, render_utterance(synth, utterance))
    finally:
        synth.close()


def _speak(utterance: Utterance, voice: str, rate: int, device: str | None) -> None:
    backend = Pyttsx3Backend(voice, rate, device=device)
    backend.open()
    try:
        backend.speak(utterance, threading.Event())
    finally:
        backend.close()
