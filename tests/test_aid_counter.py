"""The counter communication aid: a staff quick-phrase button, the MQTT ``message``
command and the console put a question on the (emulated) cells and the speaker; the
patient answers with a routing key; the answer is said and recorded as numbers only."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from contract.schemas import Schemas
from edge.aid.aid import Source
from edge.aid.layout import answer_spans, question_text
from edge.braille.codec import decode
from edge.cells.pages import pages
from edge.config import load_config
from edge.mqtt.commands import CommandDispatcher
from edge.node import Node
from edge.queue.outbox import Outbox
from edge.simulation import Simulation

SCHEMAS = Schemas.load()
UUID = "0b8a3f6e-2c4d-4f1a-9e7b-5d6c8a9b0c1d"
WIDTH = 12  # the cells firmware has 12 routing keys
AID = f"""
[cells]
enabled = true
count = {WIDTH}

[aid]
answers = ["Ya", "Tidak", "Ulangi"]

[[aid.phrases]]
text = "Silakan tunggu"
button = "next-3"

[[aid.phrases]]
text = "Mohon tunjukkan kartu BPJS"
button = "recall-3"
"""


# --- where the answers are: read back from the very pages the cells show --------------
QUESTIONS = [
    ("Sudah makan?", ("Ya", "Tidak", "Ulangi"), 12),
    ("Sudah makan?", ("Ya", "Tidak", "Ulangi"), 40),
    ("Mohon tunjukkan kartu BPJS", ("Ya", "Tidak"), 12),
    ("Apakah obat ini sudah pernah Anda minum sebelumnya?", ("Ya", "Tidak", "Ulangi"), 20),
    ("Pilih", ("Satu", "Dua", "Tiga", "Empat"), 12),
]


@pytest.mark.parametrize(("question", "answers", "width"), QUESTIONS)
def test_each_answer_is_under_its_own_cells(question: str, answers: tuple[str, ...],
                                            width: int) -> None:
    text = question_text(question, answers)
    cut = pages(text, width)
    spans = answer_spans(text, len(answers), width)
    found = {index: decode(cut[page][start:end])
             for page, on_page in spans.items() for start, end, index in on_page}
    assert found == dict(enumerate(answers))


# --- on a counter node -------------------------------------------------------------------
class CounterNode:
    def __init__(self, tmp: Path) -> None:
        demo = resources.files("edge").joinpath("data/demo.toml").read_text(encoding="utf-8")
        demo = demo.split("\n[cells]")[0] + AID
        (tmp / "node.toml").write_text(demo, encoding="utf-8")
        self.config = load_config(tmp / "node.toml")
        self.sim = Simulation(self.config, tmp / "data")
        self.node = Node(self.config, tmp / "data", self.sim.hardware()).start()
        self.outbox = Outbox(tmp / "data" / "queue.db")
        assert self.node.aid is not None and self.sim.cells is not None
        self.aid, self.cells = self.node.aid, self.sim.cells

    def shown(self) -> str:
        return decode(self.cells.dots()).strip()

    def answered(self) -> list[dict[str, Any]]:
        return [e.envelope("janti", "demo") for e in self.outbox.unacked(100)
                if e.type == "message.answered"]

    def said(self) -> list[str]:
        return [s.utterance.text for s in self.node.ctx.speech.spoken]

    def close(self) -> None:
        self.node.stop()
        self.sim.close()


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout  # a guard against a hang, not a measured limit
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


@pytest.fixture
def counter(tmp_path: Path) -> Iterator[CounterNode]:
    node = CounterNode(tmp_path)
    try:
        yield node
    finally:
        node.close()


def test_a_staff_button_asks_and_the_patient_answers_with_a_key(counter: CounterNode) -> None:
    counter.sim.press("next-3")  # a spare button of the counter board: quick phrase 1
    wait_for(lambda: counter.shown() == "Silakan", "the phrase on the cells")
    question = counter.aid.question
    assert question is not None and question.text == "Silakan tunggu: Ya Tidak Ulangi"
    wait_for(lambda: counter.said() != [], "the question said")
    assert counter.said()[0] == "Silakan tunggu Jawab: Ya, Tidak atau Ulangi."
    # "Silakan" / "tunggu: Ya" / "Tidak" / "Ulangi": pan with the last key to "tunggu: Ya"
    counter.cells.press(WIDTH - 1)
    wait_for(lambda: counter.shown() == "tunggu: Ya", "the next page")
    ya = counter.shown().index("Ya") + 1  # "tunggu:" is 7 cells + a space: Ya under key 8..
    counter.cells.press(ya)
    wait_for(lambda: counter.answered() != [], "the answer recorded")
    [event] = counter.answered()
    assert event["data"] == {"choice": 0, "choices": 3, "phrase": 0, "source": "button"}
    assert SCHEMAS.errors("event", event) == []
    wait_for(lambda: "Jawaban pasien: Ya." in counter.said(), "the answer said to staff")


def test_a_key_outside_the_answers_says_the_question(counter: CounterNode) -> None:
    counter.aid.ask("Makan?", ["Ya", "Tidak"], source=Source.CONSOLE)
    wait_for(lambda: counter.shown() == "Makan?: Ya", "the question")
    counter.cells.press(0)
    wait_for(lambda: counter.said().count("Makan?: Ya Tidak") == 1, "the cells said")
    assert counter.answered() == []


def test_the_message_command_asks_and_an_answer_carries_no_text(counter: CounterNode) -> None:
    dispatcher = CommandDispatcher(actions=counter.node, schemas=SCHEMAS)
    reply = dispatcher.handle("message", json.dumps(
        {"id": UUID, "text": "Nyeri?", "answers": ["Ya", "Tidak"]}).encode())
    assert reply.ok and reply.data == {"shown": "Nyeri?: Ya Tidak", "pages": 2,
                                       "answers": ["Ya", "Tidak"]}
    wait_for(lambda: counter.shown() == "Nyeri?: Ya", "the question")
    counter.cells.press(counter.shown().index("Ya") + 1)
    wait_for(lambda: counter.answered() != [], "the answer")
    [event] = counter.answered()
    assert event["data"] == {"choice": 0, "choices": 2, "phrase": None, "source": "command"}
    assert "Nyeri" not in json.dumps(event) and "Ya" not in json.dumps(event["data"])
    assert SCHEMAS.errors("event", {**event, "data": {**event["data"], "text": "Ya"}}) != []


@pytest.mark.parametrize(("payload", "error"), [
    ({"text": "Nyeri?", "answers": ["Ya"]}, "answers: give 2 to 4 answers, or none"),
    ({"text": "Nyeri?", "answers": ["Ya", "T1dak"]}, "invalid message"),
    ({"text": "Nyeri ☺"}, "the cells cannot show this message"),
    ({"text": " "}, "invalid message"),
    ({"text": "x" * 201}, "invalid message"),
])
def test_bad_messages_are_refused(counter: CounterNode, payload: dict[str, Any], error: str
                                  ) -> None:
    reply = CommandDispatcher(actions=counter.node, schemas=SCHEMAS).handle(
        "message", json.dumps({"id": UUID, **payload}).encode())
    assert not reply.ok and reply.error is not None and reply.error.startswith(error)


def test_no_answers_is_a_plain_message(counter: CounterNode) -> None:
    shown = counter.node.message("Silakan ke apotek", [])
    assert shown["shown"] == "Silakan ke apotek" and shown["answers"] == []
    counter.cells.press(0)
    wait_for(lambda: "Silakan ke apotek" in counter.said(), "the message said on a key")
    assert counter.answered() == []
