"""The pharmacy role: a label made once comes out three ways — embossed, printed, spoken.

The form, the API, the MQTT ``label`` command and the console all call ``make``; it
checks the label, numbers it, keeps it for reprint, hands it to the embosser, the printer
and the speaker (never waiting for them), and records ``label.printed`` with counts of
drug classes only: no name, no medicine leaves the node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from edge.context import NodeContext
from edge.devices.debounce import ButtonEvent, ButtonEventKind
from edge.devices.state import DeviceState
from edge.devices.worker import WorkerClosed
from edge.pharmacy.braille_lines import BrailleLabel, braille_label
from edge.pharmacy.ink import label_bytes
from edge.pharmacy.label import Label, LabelError, Warning, parse_label
from edge.pharmacy.spoken import label_sentence
from edge.pharmacy.store import LabelStore

CHANNEL = "pharmacy"  # the speech channel of the pharmacy counter
FAULT_WORDS = {"embosser": "Embosser Braille", "printer": "Printer etiket"}
STATE_WORDS = {DeviceState.PAPER_OUT: "kertas habis", DeviceState.OFFLINE: "tidak tersambung"}


def fault_sentence(device: str, state: DeviceState) -> str:
    """What the pharmacy speaker says when an output fails.

    >>> fault_sentence("printer", DeviceState.PAPER_OUT)
    'Printer etiket kertas habis. Etiket tersimpan; cetak ulang setelah diperbaiki.'
    """
    trouble = STATE_WORDS.get(state, "bermasalah")
    return f"{FAULT_WORDS[device]} {trouble}. Etiket tersimpan; cetak ulang setelah diperbaiki."


class Source(StrEnum):
    """Where a label came from (recorded as a count, never with its content)."""

    FORM = "form"
    API = "api"
    COMMAND = "command"
    CONSOLE = "console"


@dataclass(frozen=True)
class Made:
    """A label that was made: what it says and where it went."""

    label: Label
    braille: BrailleLabel
    outputs: tuple[str, ...]

    def summary(self) -> dict[str, Any]:
        """What may be told to whoever asked over MQTT: no name, no medicine."""
        return {"number": self.label.number, "braille_lines": len(self.braille.lines),
                "omitted": list(self.braille.omitted), "outputs": list(self.outputs)}


def drug_classes(label: Label) -> dict[str, int]:
    """The counts ``label.printed`` carries for one label.

    >>> from datetime import date
    >>> drug_classes(parse_label({"drug": "x", "dose": "1", "warnings": ["habiskan"]},
    ...                          today=date(2026, 1, 1)))
    {'oral': 1, 'external': 0, 'antibiotic': 1, 'suspension': 0, 'sedating': 0}
    """
    return {
        "oral": int(not label.external), "external": int(label.external),
        "antibiotic": int(Warning.HABISKAN in label.warnings),
        "suspension": int(Warning.KOCOK_DAHULU in label.warnings),
        "sedating": int(Warning.MENGANTUK in label.warnings),
    }


class Pharmacy:
    """Makes labels on the node's embosser, printer and speaker; the ``repeat`` button of
    the pharmacy counter says the last label again."""

    buttons = frozenset({"repeat"})

    def __init__(self, ctx: NodeContext, store: LabelStore,
                 confirm: Callable[[], None] | None = None) -> None:
        self._ctx = ctx
        self.store = store
        self._confirm = confirm
        self.width = ctx.config.pharmacy.label_width

    def today(self) -> datetime:
        return datetime.now(ZoneInfo(self._ctx.config.timezone))

    def check(self, raw: Any) -> tuple[Label, BrailleLabel]:
        """The label and its Braille lines, or LabelError naming the field."""
        label = parse_label(raw, today=self.today().date())
        return label, braille_label(label, self.width)

    def make(self, raw: Any, *, source: Source, user: str = "") -> Made:
        label, braille = self.check(raw)
        if not label.number:
            label = replace(label, number=self.store.next_number(label.made))
        if not label.facility:
            label = replace(label, facility=self._ctx.config.site_name)
        if not label.pharmacist and user:
            label = replace(label, pharmacist=user)
        self.store.save(label.number, label.to_json(), user=user, day=label.made)
        made = self._output(label, braille)
        self._ctx.engine.record("label.printed", {
            "labels": 1, "classes": drug_classes(label), "braille_lines": len(braille.lines),
            "outputs": list(made.outputs), "source": source.value,
        })
        self._ctx.notifier.notify_event()
        self._ctx.emit("label", number=label.number, lines=len(braille.lines),
                       outputs=",".join(made.outputs))
        return made

    def reprint(self, number: str, *, user: str = "") -> Made:
        kept = self.store.find(number)
        if kept is None:
            raise LabelError("number", f"label {number} tidak ada (disimpan "
                             f"{self._ctx.config.pharmacy.keep_days} hari)")
        body = dict(kept.body)
        body.pop("date", None)
        label, braille = self.check(body)
        made = self._output(label, braille)
        self._ctx.emit("label-reprint", number=number, outputs=",".join(made.outputs))
        return made

    def output_failed(self, device: str, state: DeviceState) -> None:
        """An output of the pharmacy failed: tell the pharmacist at the counter (the form
        shows it too, health and the NCC get the fault as on every node)."""
        if device in FAULT_WORDS:
            self._ctx.speech.say(fault_sentence(device, state), channel=CHANNEL)

    def faults(self) -> dict[str, str]:
        """Outputs not working now: device -> state."""
        workers = [w for w in (self._ctx.embosser, self._ctx.printer) if w is not None]
        return {w.name: w.state().value for w in workers if w.state() is not DeviceState.OK}

    def repeat(self) -> bool:
        return self._ctx.speech.repeat(CHANNEL)

    def handle(self, event: ButtonEvent) -> None:
        if event.kind is ButtonEventKind.PRESSED and event.name == "repeat":
            if self._confirm is not None:
                self._confirm()
            self.repeat()

    def _output(self, label: Label, braille: BrailleLabel) -> Made:
        ctx = self._ctx
        outputs: list[str] = []
        lines = list(braille.lines)
        job = label_bytes(label, label.facility, ctx.config.printer.width)
        for worker, work in ((ctx.embosser, lambda d: d.emboss_lines(lines)),
                             (ctx.printer, lambda d: d.print_job(job))):
            if worker is None:
                continue
            try:
                worker.submit(work, label=f"label {label.number}")
            except WorkerClosed:  # the worker reported itself offline: spoken, shown, raised
                continue
            outputs.append(worker.name)
        if ctx.config.speaker.enabled:
            ctx.speech.say(label_sentence(label), channel=CHANNEL)
            outputs.append("speech")
        return Made(label, braille, tuple(outputs))

