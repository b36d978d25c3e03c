"""The counter communication aid: staff ask, the patient answers with the routing keys.

A question (a quick phrase from a staff button, the MQTT ``message`` command, the
pharmacy form, or the console) goes to the cells with its answers and is said by the
counter speaker. A routing key under an answer chooses it: the answer is said to the
staff member and recorded as ``message.answered`` with numbers only (which answer of how
many, which quick phrase), never the text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from edge.aid.config import AidConfig
from edge.aid.layout import Span, answer_spans, question_text
from edge.braille.codec import unwritable
from edge.devices.debounce import ButtonEvent, ButtonEventKind
from edge.node_actions import CommandError

CHANNEL = "counter-cells"
MAX_QUESTION = 200


class Source(StrEnum):
    BUTTON = "button"
    COMMAND = "command"
    FORM = "form"
    CONSOLE = "console"


class Cells(Protocol):
    """What the aid needs of ``edge.cells.display.CellsDisplay``."""

    def show_message(self, text: str) -> int: ...

    @property
    def message(self) -> str | None: ...

    @property
    def page(self) -> tuple[int, int]: ...


class Speech(Protocol):
    def say(self, text: str, *, channel: str = ..., chime: bool = ...) -> None: ...


@dataclass(frozen=True)
class Question:
    """What is on the cells now: the text shown and where its answers are."""

    text: str
    answers: tuple[str, ...]
    spans: dict[int, tuple[Span, ...]]
    phrase: int | None
    source: Source


def check_answers(answers: Sequence[str]) -> tuple[str, ...]:
    """2 to 4 one-word answers Braille can write (an empty list: no answers)."""
    answers = tuple(a.strip() for a in answers)
    if answers and not 2 <= len(answers) <= 4:
        raise CommandError("answers: give 2 to 4 answers, or none")
    for a in answers:
        if not a.isalpha() or len(a) > 12 or unwritable(a) is not None:
            raise CommandError(f"answers: {a!r} is not one word of letters (at most 12)")
    return answers


class CounterAid:
    """Owns the question on one row of cells; ``record(type, data)`` writes the event."""

    def __init__(self, config: AidConfig, cells: Cells, width: int, speech: Speech,
                 record: Callable[[str, dict[str, Any]], None],
                 emit: Callable[..., None] = lambda *a, **k: None) -> None:
        self._config = config
        self._cells = cells
        self._width = width
        self._speech = speech
        self._record = record
        self._emit = emit
        self._question: Question | None = None
        self._by_button = {p.button: i for i, p in enumerate(config.phrases) if p.button}
        self.buttons = frozenset(self._by_button)

    @property
    def config(self) -> AidConfig:
        return self._config

    @property
    def question(self) -> Question | None:
        return self._question

    def phrase(self, index: int, source: Source = Source.CONSOLE) -> dict[str, Any]:
        """Ask quick phrase ``index`` (0-based) with the configured answers."""
        if not 0 <= index < len(self._config.phrases):
            raise CommandError(f"no quick phrase {index + 1} (there are "
                               f"{len(self._config.phrases)})")
        return self.ask(self._config.phrases[index].text, source=source, phrase=index)

    def ask(self, text: str, answers: Sequence[str] | None = None, *,
            source: Source, phrase: int | None = None) -> dict[str, Any]:
        """Show ``text`` and its answers (default: the configured ones; ``[]``: none) and
        say it; empty text clears the cells' message."""
        text = " ".join(text.split())
        if not text:
            self._question = None
            self._cells.show_message("")
            return {"shown": "", "pages": 1, "answers": []}
        if len(text) > MAX_QUESTION:
            raise CommandError(f"text: at most {MAX_QUESTION} characters")
        chosen = check_answers(self._config.answers if answers is None else answers)
        shown = question_text(text, chosen)
        try:
            spans = answer_spans(shown, len(chosen), self._width)
            pages = self._cells.show_message(shown)
        except ValueError as e:
            raise CommandError(f"the cells cannot show this message: {e}") from None
        self._question = Question(shown, chosen, spans, phrase, source)
        spoken = f"{text} Jawab: {', '.join(chosen[:-1])} atau {chosen[-1]}." if chosen else text
        self._speech.say(spoken, channel=CHANNEL)
        self._emit("asked", pages=pages, answers="/".join(chosen))
        return {"shown": shown, "pages": pages, "answers": list(chosen)}

    def key(self, key: int) -> bool:
        """A routing key: True if it chose an answer of the question on the cells."""
        question = self._question
        if question is None or self._cells.message != question.text:
            return False
        page, pages = self._cells.page
        if key == self._width - 1 and pages > 1:
            return False  # the last key pans, even under an answer
        for start, end, index in question.spans.get(page - 1, ()):
            if start <= key < end:
                self._answered(question, index)
                return True
        return False

    def handle(self, event: ButtonEvent) -> None:
        """A staff quick-phrase button."""
        if event.kind is ButtonEventKind.PRESSED and event.name in self._by_button:
            self.phrase(self._by_button[event.name], Source.BUTTON)

    def _answered(self, question: Question, index: int) -> None:
        answer = question.answers[index]
        self._speech.say(f"Jawaban pasien: {answer}.", channel=CHANNEL)
        self._record("message.answered", {
            "choice": index, "choices": len(question.answers), "phrase": question.phrase,
            "source": question.source.value,
        })
        self._emit("answered", answer=answer, choice=index)
