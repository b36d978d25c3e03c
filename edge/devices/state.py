"""The state every output device reports to node health."""

from __future__ import annotations

from enum import StrEnum


class DeviceState(StrEnum):
    """Health of one device, as published in the node's ``health`` payload.

    >>> DeviceState.PAPER_OUT.value
    'paper_out'
    """

    OK = "ok"
    PAPER_OUT = "paper_out"
    OFFLINE = "offline"
    ERROR = "error"
    DISABLED = "disabled"


class DeviceError(Exception):
    """A device could not do what was asked; ``state`` says why."""

    def __init__(self, message: str, state: DeviceState = DeviceState.ERROR) -> None:
        super().__init__(message)
        self.state = state
