"""A node's state as the NCC sees it: online (daring), silent (senyap) or offline (luring).

Silent: the status says online but no health arrived for ``silent_after_s`` (2.5 health
intervals by default): the TCP session can be alive while the node is stuck. Health age is
counted from the later of the birth and the last health, both as received by the NCC.

>>> node_state(online=True, status_at=100.0, health_at=100.0, now=150.0, silent_after_s=75)
<NodeState.ONLINE: 'online'>
>>> node_state(online=True, status_at=100.0, health_at=100.0, now=176.0, silent_after_s=75)
<NodeState.SILENT: 'silent'>
>>> node_state(online=False, status_at=100.0, health_at=170.0, now=171.0, silent_after_s=75)
<NodeState.OFFLINE: 'offline'>
"""

from __future__ import annotations

from enum import StrEnum


class NodeState(StrEnum):
    ONLINE = "online"
    SILENT = "silent"
    OFFLINE = "offline"


LABELS = {NodeState.ONLINE: "daring", NodeState.SILENT: "senyap", NodeState.OFFLINE: "luring"}


def node_state(
    *, online: bool | None, status_at: float | None, health_at: float | None, now: float,
    silent_after_s: float,
) -> NodeState:
    due = silent_at(online=online, status_at=status_at, health_at=health_at,
                    silent_after_s=silent_after_s)
    if due is None:
        return NodeState.OFFLINE
    return NodeState.SILENT if now > due else NodeState.ONLINE


def silent_at(*, online: bool | None, status_at: float | None, health_at: float | None,
              silent_after_s: float) -> float | None:
    """When an online node turns silent unless health arrives first (None: offline).

    >>> silent_at(online=True, status_at=100.0, health_at=130.0, silent_after_s=75)
    205.0
    >>> silent_at(online=True, status_at=100.0, health_at=90.0, silent_after_s=75)
    175.0
    """
    if not online:
        return None
    fresh_since = max(t for t in (status_at, health_at, 0.0) if t is not None)
    if health_at is None or health_at < (status_at or 0.0):
        fresh_since = status_at or 0.0  # no health in this session yet: count from the birth
    return fresh_since + silent_after_s
