"""Commands from ``cmd/{name}``: checked against their schema, then handed to the node.

A bad command gets ``ok: false`` with a clear error and changes nothing; a good one is
passed to ``NodeActions`` and its result returned as the reply's ``data``. A command ``id``
runs once: with a ``CommandLog`` a repeat is answered with the first reply. A retained
command (one the broker kept and hands to every new subscriber) is never run.

>>> from contract.schemas import Schemas
>>> d = CommandDispatcher(actions=None, schemas=Schemas.load())  # type: ignore[arg-type]
>>> d.handle("call_next", b'{"counter": 1}').to_dict()
{'id': None, 'ok': False, 'error': 'missing id'}
>>> d.handle("fly", b'{"id": "x"}').error
"unknown command 'fly'"
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contract.payloads import decode_object, reply
from contract.schemas import Schemas
from edge.braille.codec import unwritable, writable
from edge.mqtt.command_log import CommandLog
from edge.node_actions import CommandError, NodeActions
from edge.queue.models import QueueError

log = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 4096
MAX_ERROR_CHARS = 200
MAX_ID_CHARS = 64

Handler = Callable[[NodeActions, dict[str, Any]], dict[str, Any]]

HANDLERS: dict[str, Handler] = {
    "call_next": lambda a, p: a.call_next(p["counter"]),
    "recall": lambda a, p: a.recall(p["counter"]),
    "skip": lambda a, p: a.skip(p["counter"]),
    "complete": lambda a, p: a.complete(p["counter"]),
    "transfer": lambda a, p: a.transfer(p["counter"], p["service"]),
    "announce": lambda a, p: a.announce(writable(p["text"])),  # "50%" says "50 persen"
    "reprint": lambda a, p: a.reprint(p["number"]),
    "selftest": lambda a, p: a.selftest(),
}
COMMAND_NAMES = frozenset(HANDLERS)


@dataclass(frozen=True)
class Reply:
    """The answer to one command, as published on ``reply``.

    >>> Reply("c0ffee00-0000-4000-8000-000000000000", True, data={"number": "A-001"}).to_dict()
    {'id': 'c0ffee00-0000-4000-8000-000000000000', 'ok': True, 'data': {'number': 'A-001'}}
    """

    id: str | None
    ok: bool
    error: str | None = None
    data: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return reply(self.id, ok=self.ok, error=self.error, data=self.data)

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> Reply:
        return cls(payload.get("id"), bool(payload.get("ok")), payload.get("error"),
                   payload.get("data"))


def _encodable(text: str) -> bool:
    """False for text UTF-8 cannot carry (a lone surrogate from a ``"\\ud800"`` escape)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def reply_id(payload: dict[str, Any] | None) -> str | None:
    """The id to echo: the command's ``id`` when it is a short, encodable string, else None.

    >>> reply_id({"id": "\\ud800"}) is None
    True
    """
    value = None if payload is None else payload.get("id")
    if isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS and _encodable(value):
        return value
    return None


def _short(message: str) -> str:
    """At most MAX_ERROR_CHARS, and always encodable as UTF-8."""
    if not _encodable(message):
        message = message.encode("utf-8", "backslashreplace").decode("utf-8")
    return message if len(message) <= MAX_ERROR_CHARS else message[: MAX_ERROR_CHARS - 1] + "…"


def unspeakable(text: str) -> str | None:
    """Why ``text`` cannot be announced: the first character that speech and Indonesian
    Braille cannot both render (control characters, bidi overrides, emoji…).

    >>> unspeakable("Loket 2 buka (sore)") is None
    True
    >>> unspeakable("Diskon 5% 😀")
    "character '😀' (U+1F600) at position 10 cannot be spoken and written in Braille"
    """
    bad = unwritable(text)
    if bad is None:
        return None
    char, position = bad
    return (f"character {char!r} (U+{ord(char):04X}) at position {position} "
            "cannot be spoken and written in Braille")


def _schema_error(name: str, payload: dict[str, Any], problem: str) -> str:
    text = payload.get("text")
    if name == "announce" and isinstance(text, str) and text:
        why = unspeakable(text)
        if why is not None:
            return f"invalid announce: text: {why}"
    return f"invalid {name}: {problem}"


class CommandDispatcher:
    """Validate and run commands; never raises, whatever the payload.

    Runs on the MQTT link's thread; ``NodeActions`` methods are fast and thread-safe.
    """

    def __init__(
        self, *, actions: NodeActions, schemas: Schemas, log: CommandLog | None = None
    ) -> None:
        self._actions = actions
        self._schemas = schemas
        self._log = log

    def check(self, name: str, raw: bytes) -> Reply | dict[str, Any]:
        """The payload as a valid command, or the error Reply that refuses it."""
        if len(raw) > MAX_PAYLOAD_BYTES:
            return Reply(None, False, f"payload larger than {MAX_PAYLOAD_BYTES} bytes")
        payload = decode_object(raw)
        if payload is None:
            return Reply(None, False, "payload is not a JSON object (malformed JSON)")
        command_id = reply_id(payload)
        if name not in COMMAND_NAMES or f"cmd/{name}" not in self._schemas.validators:
            return Reply(command_id, False, _short(f"unknown command {name!r}"))
        if "id" not in payload:
            return Reply(None, False, "missing id")
        problems = self._schemas.errors(f"cmd/{name}", payload)
        if problems:
            return Reply(command_id, False, _short(_schema_error(name, payload, problems[0])))
        if name == "announce" and (why := unspeakable(payload["text"])) is not None:
            return Reply(command_id, False, f"invalid announce: text: {why}")
        return payload

    def handle(self, name: str, raw: bytes, *, retained: bool = False) -> Reply:
        """Check, then run once; a retained command is refused without running."""
        checked = self.check(name, raw)
        if isinstance(checked, Reply):
            return checked
        command_id = str(checked["id"])  # the schema requires a uuid
        if retained:
            return Reply(command_id, False, "retained command not run: send commands "
                                            "without retain (and clear this one)")
        if self._log is None:
            return self._run(name, checked)
        try:
            first = self._log.begin(command_id, name)
        except Exception as e:  # a full disk: refuse rather than risk running it twice
            log.warning("command log: %s", e)
            return Reply(command_id, False, _short(f"cannot record command: {e}; not run"))
        if first is not None:
            return Reply.from_dict(first)
        answer = self._run(name, checked)
        try:
            self._log.finish(command_id, answer.to_dict())
        except Exception as e:
            log.warning("command log: cannot store the reply of %s: %s", command_id, e)
        return answer

    def _run(self, name: str, checked: dict[str, Any]) -> Reply:
        command_id = reply_id(checked)
        try:
            data = HANDLERS[name](self._actions, checked)
        except (CommandError, QueueError) as e:
            return Reply(command_id, False, _short(str(e) or type(e).__name__))
        except Exception as e:  # a bug in the node must not kill the link
            log.exception("command %s failed", name)
            return Reply(command_id, False, _short(f"internal error: {type(e).__name__}: {e}"))
        return Reply(command_id, True, data=data)
