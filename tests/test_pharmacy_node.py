"""The pharmacy node (deploy/examples/janti-farmasi-1.toml) with its emulated embosser,
printer and speaker: a label comes out embossed, printed and spoken; label.printed
carries counts only; labels are kept for reprint as long as configured."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contract.schemas import Schemas
from edge.braille.codec import ascii_to_text
from edge.config import ConfigError, load_config, parse_config
from edge.mqtt.commands import CommandDispatcher
from edge.node import Node
from edge.pharmacy.pages import faults_notice
from edge.pharmacy.role import Source
from edge.queue.outbox import Outbox
from edge.simulation import Simulation

EXAMPLE = Path(__file__).parent.parent / "deploy" / "examples" / "janti-farmasi-1.toml"
SCHEMAS = Schemas.load()
UUID = "0b8a3f6e-2c4d-4f1a-9e7b-5d6c8a9b0c1d"
LABEL = {"patient": "Budi Santoso", "age": 54, "drug": "Amoksisilin", "strength": "500 mg",
         "form": "kapsul", "quantity": "15", "dose": "3 x sehari 1 kapsul",
         "when": ["pagi", "siang", "malam", "sesudah makan"], "purpose": "infeksi",
         "expiry": "2099-12", "warnings": ["habiskan"], "pharmacist": "apt. Rina"}
PRIVATE = ("Budi", "Santoso", "Amoksisilin", "infeksi", "Rina")


class PharmacyNode:
    def __init__(self, tmp: Path) -> None:
        self.config = load_config(EXAMPLE)
        self.sim = Simulation(self.config, tmp)
        self.node = Node(self.config, tmp, self.sim.hardware()).start()
        self.outbox = Outbox(tmp / "queue.db")
        assert self.node.pharmacy is not None
        self.pharmacy = self.node.pharmacy

    def events(self, type_: str) -> list[dict[str, Any]]:
        """Envelopes of the node's events of ``type_``, as they would be published."""
        return [e.envelope("janti", "farmasi-1") for e in self.outbox.unacked(100)
                if e.type == type_]

    def close(self) -> None:
        self.node.stop()
        self.sim.close()


@pytest.fixture
def farmasi(tmp_path: Path) -> Iterator[PharmacyNode]:
    node = PharmacyNode(tmp_path)
    try:
        yield node
    finally:
        node.close()


def test_a_label_is_embossed_printed_and_spoken(farmasi: PharmacyNode) -> None:
    made = farmasi.pharmacy.make(LABEL, source=Source.CONSOLE)
    assert made.outputs == ("embosser", "printer", "speech")
    assert farmasi.sim.embosser is not None and farmasi.sim.printer is not None
    [embossed] = farmasi.sim.embosser.wait_for_jobs(1, timeout=30)
    assert embossed.errors == ()
    assert embossed.text == ("amoksisilin 500 mg", "3 x 1 kapsul", "sesudah makan",
                             "habiskan")  # 19 cells: shortened by priority
    [printed] = farmasi.sim.printer.wait_for_jobs(1, timeout=30)
    assert "ETIKET PUTIH - OBAT DALAM" in printed.text_lines
    assert "Pasien: Budi Santoso (54 th)" in printed.qr_payloads[0]
    assert farmasi.node.ctx.speech.wait_idle(60)
    [spoken] = [s.utterance.text for s in farmasi.node.ctx.speech.spoken
                if s.utterance.channel == "pharmacy"]
    assert spoken.startswith("Etiket obat untuk Budi Santoso. Amoksisilin lima ratus "
                                  "miligram, kapsul. Aturan pakai: tiga kali sehari")


def test_label_printed_counts_classes_and_names_no_one(farmasi: PharmacyNode) -> None:
    farmasi.pharmacy.make(LABEL, source=Source.FORM, user="rina")
    farmasi.pharmacy.make({"drug": "Salep 88", "dose": "2 x sehari", "external": True,
                           "patient": "Sari"}, source=Source.API, user="rina")
    events = farmasi.events("label.printed")
    assert [e["data"]["classes"] for e in events] == [
        {"oral": 1, "external": 0, "antibiotic": 1, "suspension": 0, "sedating": 0},
        {"oral": 0, "external": 1, "antibiotic": 0, "suspension": 0, "sedating": 0}]
    for event in events:
        assert SCHEMAS.errors("event", event) == []
        text = json.dumps(event)
        assert not [word for word in (*PRIVATE, "Sari", "Salep") if word in text]
    forged = {**events[0], "data": {**events[0]["data"], "patient": "Budi"}}
    assert SCHEMAS.errors("event", forged) != []  # a name cannot even be written


def test_labels_are_kept_for_reprint_then_forgotten(farmasi: PharmacyNode) -> None:
    made = farmasi.pharmacy.make(LABEL, source=Source.CONSOLE)
    again = farmasi.pharmacy.reprint(made.label.number)
    assert again.braille.lines == made.braille.lines
    assert farmasi.sim.embosser is not None
    jobs = farmasi.sim.embosser.wait_for_jobs(2, timeout=30)
    assert jobs[0].text == jobs[1].text
    store = farmasi.pharmacy.store
    assert store.purge(time.time() + 29 * 86400) == 0
    assert store.purge(time.time() + 31 * 86400) == 1  # keep_days = 30
    with pytest.raises(ValueError, match=r"^number: label .* tidak ada"):
        farmasi.pharmacy.reprint(made.label.number)


def test_numbers_are_given_per_day_and_kept_numbers_are_used(farmasi: PharmacyNode) -> None:
    first = farmasi.pharmacy.make(LABEL, source=Source.CONSOLE).label.number
    second = farmasi.pharmacy.make(LABEL, source=Source.CONSOLE).label.number
    own = farmasi.pharmacy.make({**LABEL, "number": "R-77"}, source=Source.CONSOLE).label.number
    assert first.endswith("-001") and second.endswith("-002") and own == "R-77"


def test_the_repeat_button_says_the_label_again(farmasi: PharmacyNode) -> None:
    farmasi.pharmacy.make(LABEL, source=Source.CONSOLE)
    speech = farmasi.node.ctx.speech
    assert speech.wait_idle(60)
    farmasi.sim.press("repeat")
    deadline = time.monotonic() + 60
    while len(said := [s.utterance.text for s in speech.spoken
                       if s.utterance.channel == "pharmacy"]) < 2:
        assert time.monotonic() < deadline, speech.spoken
        time.sleep(0.05)
    assert said[0] == said[1]


def test_label_command_replies_without_names_and_refuses_bad_labels(
        farmasi: PharmacyNode) -> None:
    dispatcher = CommandDispatcher(actions=farmasi.node, schemas=SCHEMAS)
    reply = dispatcher.handle("label", json.dumps({"id": UUID, **LABEL}).encode())
    assert reply.ok and reply.data is not None
    assert set(reply.data) == {"number", "braille_lines", "omitted", "outputs"}
    assert not [w for w in PRIVATE if w in json.dumps(reply.to_dict())]
    bad = dispatcher.handle("label", json.dumps({"id": UUID, "drug": "Parasetamol",
                                                 "dose": "1 x", "expiry": "2001-01"}).encode())
    assert not bad.ok and bad.error == "expiry: tanggal kedaluwarsa 2001-01 sudah lewat"
    missing = dispatcher.handle("label", json.dumps({"id": UUID, "drug": "X"}).encode())
    assert not missing.ok and missing.error is not None and "dose" in missing.error
    assert len(farmasi.events("label.printed")) == 1


def test_a_node_without_the_pharmacy_role_refuses_labels(tmp_path: Path) -> None:
    config = load_config(None)
    with Simulation(config, tmp_path) as sim:
        node = Node(config, tmp_path, sim.hardware()).start()
        try:
            reply = CommandDispatcher(actions=node, schemas=SCHEMAS).handle(
                "label", json.dumps({"id": UUID, **LABEL}).encode())
        finally:
            node.stop()
    assert not reply.ok and reply.error == "this node has no pharmacy role"


# --- config ------------------------------------------------------------------------------
BASE = {"site": "janti", "node": "farmasi-1", "site_name": "x", "roles": ["pharmacy"],
        "services": [{"code": "A", "name": "Poli Umum"}]}


@pytest.mark.parametrize(("extra", "message"), [
    ({"pharmacy": {"label_width": 9}}, "pharmacy.label_width: 9 is less than the minimum of 10"),
    ({"pharmacy": {"label_width": 40}, "embosser": {"width_cells": 28}},
     "pharmacy.label_width: 40 cells is wider than the embosser's line"),
    ({"pharmacy": {"keep_days": 0}}, "pharmacy.keep_days: 0 is less than the minimum of 1"),
    ({"pharmacy": {"listen": "8080"}}, "pharmacy.listen: expected HOST:PORT"),
    ({"pharmacy": {"printer": 1}}, "pharmacy: Additional properties are not allowed"),
    ({"aid": {"answers": ["Ya"]}}, "aid.answers: ['Ya'] is too short"),
    ({"aid": {"answers": ["Ya", "Ya"]}}, "aid.answers: an answer is given twice"),
    ({"aid": {"answers": ["Ya", "Tidak ya"]}}, "aid.answers[1]: 'Tidak ya' does not match"),
    ({"aid": {"phrases": [{"text": "Tunggu ☺"}]}},
     "aid.phrases[0].text: Indonesian Braille cannot write '☺'"),
    ({"roles": ["caller"], "counters": [{"number": 1, "services": ["A"]}],
      "aid": {"phrases": [{"text": "Tunggu", "button": "next-1"}]}},
     "aid.phrases[0].button: 'next-1' is a counter's button"),
    ({"roles": ["caller"], "counters": [{"number": 1, "services": ["A"]}],
      "aid": {"phrases": [{"text": "Tunggu", "button": "next-9"}]}},
     "aid.phrases[0].button: the counter board has no button 'next-9'"),
])
def test_bad_pharmacy_and_aid_config_names_the_field(extra: dict[str, Any], message: str
                                                     ) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({**BASE, **extra}, source="node.toml")
    assert str(caught.value).startswith(f"node.toml: {message}"), str(caught.value)


# --- brexit node --simulate --config deploy/examples/janti-farmasi-1.toml ------------------
def test_the_example_runs_simulated_and_makes_a_label_from_the_console(tmp_path: Path) -> None:
    label = json.dumps({**LABEL, "number": "R-1"})
    lines = f"label {label}\nlabel-reprint R-1\nlabel {{\"drug\": \"X\"}}\nquit\n"
    out = subprocess.run(
        [sys.executable, "-m", "edge.cli", "node", "--simulate", "--config", str(EXAMPLE),
         "--data", str(tmp_path), "--form", "127.0.0.1:0"],
        input=lines, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    said = out.stdout.splitlines()
    assert said[0].startswith("pharmacy form http://127.0.0.1:")
    assert "(login apoteker / apoteker-janti)" in said[0]
    assert "label R-1: 4 Braille lines -> embosser, printer, speech" in said
    assert "error dose: aturan pakai wajib diisi (contoh: 3 x sehari 1 tablet)" in said
    assert len(list((tmp_path / "embossed").glob("*.brf"))) == 2
    printed = sorted((tmp_path / "printed").glob("*.txt"))
    assert len(printed) == 2 and "HABISKAN" in printed[0].read_text()
    assert list((tmp_path / "speech").glob("*-pharmacy.wav"))


def test_the_simulated_node_serves_the_form_and_a_label_filled_there_comes_out(
        tmp_path: Path) -> None:
    """Done when: brexit node --simulate --config deploy/examples/janti-farmasi-1.toml serves
    the form, and a label filled there comes out embossed, printed and spoken."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "node", "--simulate", "--config", str(EXAMPLE),
         "--data", str(tmp_path), "--form", "127.0.0.1:0"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None and proc.stdin is not None
        first = proc.stdout.readline()
        url = re.search(r"http://\S+/", first)
        assert url is not None, first
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

        def post(path: str, fields: list[tuple[str, str]]) -> str:
            body = urllib.parse.urlencode(fields).encode()
            with opener.open(url.group() + path.lstrip("/"), data=body, timeout=60) as r:
                return str(r.read().decode())

        page = post("/login", [("name", "apoteker"), ("password", "apoteker-janti")])
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf is not None
        made = post("/labels", [("csrf", csrf.group(1)), ("drug", "Parasetamol"),
                                ("strength", "500 mg"), ("dose", "3 x sehari 1 tablet"),
                                ("when", "sesudah makan"), ("purpose", "demam"),
                                ("patient", "Rudi")])
        assert re.search(r"Etiket \d{6}-001: dicetak Braille, dicetak tinta dengan kode QR, "
                         r"diucapkan\.", made), made
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    [brf] = (tmp_path / "embossed").glob("*.brf")
    assert [ascii_to_text(x) for x in brf.read_text(encoding="latin-1").splitlines()
            if x.strip("\f")] == ["parasetamol 500 mg", "3 x sehari 1", "tablet",
                                   "sesudah makan"]
    [printed] = (tmp_path / "printed").glob("*.txt")
    assert "Pasien: Rudi" in printed.read_text() and "Untuk: demam" in printed.read_text()
    assert len(list((tmp_path / "speech").glob("*-pharmacy.wav"))) == 1


def test_a_failed_output_is_spoken_shown_and_the_label_kept(farmasi: PharmacyNode) -> None:
    assert farmasi.sim.printer is not None
    farmasi.sim.printer.paper_out = True
    made = farmasi.pharmacy.make(LABEL, source=Source.CONSOLE)
    speech = farmasi.node.ctx.speech
    sentence = "Printer etiket kertas habis. Etiket tersimpan; cetak ulang setelah diperbaiki."
    deadline = time.monotonic() + 60  # a guard against a hang, not a measured limit
    while sentence not in [s.utterance.text for s in speech.spoken]:
        assert time.monotonic() < deadline, speech.spoken
        time.sleep(0.05)
    assert farmasi.pharmacy.faults() == {"printer": "paper_out"}
    assert "Printer etiket: kertas habis" in faults_notice(farmasi.pharmacy.faults())
    assert farmasi.node.health()["printer"] == "paper_out"
    assert [e["data"]["device"] for e in farmasi.events("device.fault")] == ["printer"]
    farmasi.sim.printer.paper_out = False
    farmasi.pharmacy.reprint(made.label.number)
    [printed] = farmasi.sim.printer.wait_for_jobs(1, timeout=60)
    assert "ETIKET PUTIH - OBAT DALAM" in printed.text_lines
