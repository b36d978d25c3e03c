"""Topic names of the MQTT contract (v1), as value objects that validate themselves.

>>> t = NodeTopics("janti", "kiosk-1")
>>> t.event, t.cmd("call_next")
('brexit/v1/janti/kiosk-1/event', 'brexit/v1/janti/kiosk-1/cmd/call_next')
>>> t.ack
'brexit/v1/ncc/ack/janti/kiosk-1'
>>> t.command_name("brexit/v1/janti/kiosk-1/cmd/recall")
'recall'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "brexit/v1"
NCC_STATUS = f"{PREFIX}/ncc/status"
ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
COMMAND_NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")


def is_valid_id(value: str) -> bool:
    """True when ``value`` may be a site or node id: ``[a-z0-9][a-z0-9-]{0,31}``."""
    return ID_PATTERN.fullmatch(value) is not None


@dataclass(frozen=True)
class NodeTopics:
    """Every topic one node publishes to or subscribes on.

    >>> NodeTopics("Janti", "k1")
    Traceback (most recent call last):
    ...
    ValueError: invalid site id: 'Janti'
    """

    site: str
    node: str

    def __post_init__(self) -> None:
        for kind, value in (("site", self.site), ("node", self.node)):
            if not is_valid_id(value):
                raise ValueError(f"invalid {kind} id: {value!r}")

    @property
    def base(self) -> str:
        return f"{PREFIX}/{self.site}/{self.node}"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def health(self) -> str:
        return f"{self.base}/health"

    @property
    def event(self) -> str:
        return f"{self.base}/event"

    @property
    def reply(self) -> str:
        return f"{self.base}/reply"

    @property
    def cmd_filter(self) -> str:
        return f"{self.base}/cmd/+"

    @property
    def queue(self) -> str:
        return f"{PREFIX}/{self.site}/queue"

    @property
    def ack(self) -> str:
        return f"{PREFIX}/ncc/ack/{self.site}/{self.node}"

    @property
    def ncc_status(self) -> str:
        return NCC_STATUS

    def cmd(self, name: str) -> str:
        return f"{self.base}/cmd/{name}"

    def command_name(self, topic: str) -> str | None:
        """The command name of a ``cmd/{name}`` topic of this node, else None.

        An empty name (``cmd/`` matches ``cmd/+``) is returned as "" so it gets a reply."""
        head = f"{self.base}/cmd/"
        if not topic.startswith(head):
            return None
        name = topic[len(head) :]
        return None if "/" in name else name


@dataclass(frozen=True)
class NodeAddress:
    """The (site, node, kind) that a node topic names, parsed from the topic string.

    >>> NodeAddress.parse("brexit/v1/janti/kiosk-1/event")
    NodeAddress(site='janti', node='kiosk-1', kind='event')
    >>> NodeAddress.parse("brexit/v1/janti/queue") is None
    True
    """

    site: str
    node: str
    kind: str

    @classmethod
    def parse(cls, topic: str) -> NodeAddress | None:
        parts = topic.split("/")
        if len(parts) < 5 or parts[0] != "brexit" or parts[1] != "v1" or parts[2] == "ncc":
            return None
        site, node = parts[2], parts[3]
        if not (is_valid_id(site) and is_valid_id(node)):
            return None
        return cls(site, node, "/".join(parts[4:]))


def ack_address(topic: str) -> tuple[str, str] | None:
    """(site, node) of an ``ncc/ack/{site}/{node}`` topic, else None.

    >>> ack_address("brexit/v1/ncc/ack/janti/kiosk-1")
    ('janti', 'kiosk-1')
    """
    parts = topic.split("/")
    if len(parts) != 6 or parts[:4] != ["brexit", "v1", "ncc", "ack"]:
        return None
    site, node = parts[4], parts[5]
    return (site, node) if is_valid_id(site) and is_valid_id(node) else None
