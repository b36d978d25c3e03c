"""``[aid]`` of a node's TOML: the counter communication aid's quick phrases and answers.

A phrase may be given a button of the counter board that no configured counter uses
(``next-3`` on a two-counter node): pressing it puts the phrase on the cells.

>>> aid = parse_aid({"phrases": [{"text": "Silakan ke apotek", "button": "next-3"}]},
...                 source="node.toml")
>>> aid.answers, aid.phrases[0].button
(('Ya', 'Tidak', 'Ulangi'), 'next-3')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge.braille.codec import unwritable

DEFAULT_ANSWERS = ("Ya", "Tidak", "Ulangi")
DEFAULT_PHRASES = ("Silakan tunggu sebentar", "Mohon tunjukkan kartu BPJS",
                   "Silakan ke apotek", "Silakan ke laboratorium")


@dataclass(frozen=True)
class Phrase:
    text: str
    button: str | None = None  # a counter-board button, or None (command and form only)


@dataclass(frozen=True)
class AidConfig:
    answers: tuple[str, ...] = DEFAULT_ANSWERS
    phrases: tuple[Phrase, ...] = tuple(Phrase(t) for t in DEFAULT_PHRASES)


def parse_aid(raw: dict[str, Any] | None, *, source: str) -> AidConfig:
    from edge.config import ConfigError  # edge.config imports this module

    raw = raw or {}
    answers = tuple(raw.get("answers", DEFAULT_ANSWERS))
    phrases = tuple(Phrase(p["text"], p.get("button"))
                    for p in raw.get("phrases", [{"text": t} for t in DEFAULT_PHRASES]))
    texts = [(f"aid.answers[{i}]", a) for i, a in enumerate(answers)]
    texts += [(f"aid.phrases[{i}].text", p.text) for i, p in enumerate(phrases)]
    for where, text in texts:
        bad = unwritable(text)
        if bad is not None:
            raise ConfigError(f"{source}: {where}: Indonesian Braille cannot write {bad[0]!r}")
    if len({a.lower() for a in answers}) != len(answers):
        raise ConfigError(f"{source}: aid.answers: an answer is given twice")
    buttons = [p.button for p in phrases if p.button]
    if len(set(buttons)) != len(buttons):
        raise ConfigError(f"{source}: aid.phrases: a button is given to two phrases")
    return AidConfig(answers, phrases)
