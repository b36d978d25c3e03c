"""The pharmacy's and the counter aid's control lines of ``brexit node --simulate``::

    label JSON            make a label from its JSON on one line: embossed, printed, spoken
    label-reprint NUMBER  make a kept label again
    ask TEXT              a staff question on the cells with the [aid] answers
    phrase N              quick phrase N (from 1), as a staff button sends it

The patient answers with ``key N`` (the routing key under an answer).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from edge.aid.aid import Source as AidSource
from edge.node_actions import CommandError
from edge.pharmacy.role import Source

if TYPE_CHECKING:
    from edge.node import Node

WORDS = ("label", "label-reprint", "ask", "phrase")


def control(node: Node, words: list[str]) -> str:
    """Run one control line (its first word is in ``WORDS``); returns what to print."""
    head, rest = words[0], " ".join(words[1:])
    if head in ("label", "label-reprint"):
        if node.pharmacy is None:
            raise CommandError("this node has no pharmacy role")
        if head == "label-reprint":
            made = node.pharmacy.reprint(rest)
        else:
            try:
                raw = json.loads(rest)
            except json.JSONDecodeError as e:
                raise ValueError(f"label: not valid JSON: {e}") from None
            made = node.pharmacy.make(raw, source=Source.CONSOLE)
        omitted = f" (not in Braille: {', '.join(made.braille.omitted)})" \
            if made.braille.omitted else ""
        return (f"label {made.label.number}: {len(made.braille.lines)} Braille lines{omitted}"
                f" -> {', '.join(made.outputs) or 'no output'}")
    if node.aid is None:
        raise CommandError("this node has no Braille cells")
    if head == "phrase":
        if not words[1:] or not rest.isdigit():
            raise ValueError("phrase: N must be a whole number from 1")
        shown = node.aid.phrase(int(rest) - 1)
    else:
        shown = node.aid.ask(rest, source=AidSource.CONSOLE)
    return f"asked {shown['shown']!r} ({shown['pages']} pages)"
