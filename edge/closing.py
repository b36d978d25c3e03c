"""Context management for everything that has ``close()``, as gpiozero's devices have."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Closing:
    """Mixin: ``with Thing(...) as thing:`` closes the thing when the block ends.

    >>> class Port(Closing):
    ...     def close(self) -> None:
    ...         print("closed")
    >>> with Port() as port:
    ...     pass
    closed
    """

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
