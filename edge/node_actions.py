"""What the MQTT link may ask of the node, and the error that becomes a failed reply."""

from __future__ import annotations

from typing import Any, Protocol


class CommandError(Exception):
    """A command was understood but refused; the message becomes the reply's ``error``."""


class NodeActions(Protocol):
    """Implemented by the node; thread-safe and fast (a SQLite commit and enqueues).

    Each returns the reply's ``data`` or raises ``CommandError``.
    """

    def call_next(self, counter: int) -> dict[str, Any]: ...

    def recall(self, counter: int) -> dict[str, Any]: ...

    def skip(self, counter: int) -> dict[str, Any]: ...

    def complete(self, counter: int) -> dict[str, Any]: ...

    def transfer(self, counter: int, service: str) -> dict[str, Any]: ...

    def announce(self, text: str) -> dict[str, Any]: ...

    def reprint(self, number: str) -> dict[str, Any]: ...

    def selftest(self) -> dict[str, Any]: ...

    def queue_snapshot(self) -> dict[str, Any]: ...

    def continue_numbers(self, last_numbers: dict[str, int], *, day: str | None = None) -> bool:
        ...

    def health(self) -> dict[str, Any]: ...
