"""Pure builders and parsers of the MQTT payloads (contract v1). No I/O here.

>>> encode(reply(None, ok=False, error="bad json"))
b'{"id":null,"ok":false,"error":"bad json"}'
>>> parse_ack(b'{"epoch": "9f2c41d07b3e8a65", "seq": 12}')
('9f2c41d07b3e8a65', 12)
>>> parse_ack(b'{"seq": 12}')   # a v1 ack: no epoch
(None, 12)
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TypeGuard

JAKARTA = timezone(timedelta(hours=7))


def now_iso() -> str:
    """The current time in ISO 8601 with the Asia/Jakarta offset (+07:00)."""
    return datetime.now(JAKARTA).isoformat(timespec="milliseconds")


def encode(payload: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON, the wire form of every payload."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode_object(raw: bytes) -> dict[str, Any] | None:
    """The JSON object in ``raw``, or None when it is not UTF-8 JSON or not an object."""
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class Status:
    """A ``status`` payload: the birth (online) or the Will (offline) of one connection.

    A Will whose ``session`` is lower than the last birth seen is stale:

    >>> birth = Status(True, 8, "2026-11-29T08:00:00+07:00", "0.1.0", ("kiosk",))
    >>> Status(False, 7, birth.ts, "0.1.0", ("kiosk",)).is_stale_after(birth)
    True
    """

    online: bool
    session: int
    ts: str
    version: str
    roles: tuple[str, ...]
    epoch: str | None = None  # the node database's install identity (None: not given)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "online": self.online,
            "session": self.session,
            "ts": self.ts,
            "version": self.version,
            "roles": list(self.roles),
        }
        if self.epoch is not None:
            out["epoch"] = self.epoch
        return out

    def will(self) -> Status:
        """The Will of this birth: same session, offline."""
        return Status(False, self.session, self.ts, self.version, self.roles, self.epoch)

    def is_stale_after(self, latest: Status) -> bool:
        """True when this message belongs to an older session than ``latest``."""
        return self.session < latest.session

    @classmethod
    def parse(cls, raw: bytes) -> Status | None:
        obj = decode_object(raw)
        if obj is None:
            return None
        online, session = obj.get("online"), obj.get("session")
        if not isinstance(online, bool) or not _is_int(session):
            return None
        roles = obj.get("roles", [])
        epoch = obj.get("epoch")
        return cls(
            online,
            session,
            str(obj.get("ts", "")),
            str(obj.get("version", "")),
            tuple(str(r) for r in roles) if isinstance(roles, list) else (),
            epoch if isinstance(epoch, str) else None,
        )


def status(
    *, online: bool, session: int, ts: str, version: str, roles: Sequence[str],
    epoch: str | None = None,
) -> Status:
    return Status(online, session, ts, version, tuple(roles), epoch)


def reply(
    command_id: str | None,
    *,
    ok: bool,
    error: str | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``reply`` payload: ``{"id","ok","error"?,"data"?}``."""
    out: dict[str, Any] = {"id": command_id, "ok": ok}
    if error is not None:
        out["error"] = error
    if data is not None:
        out["data"] = data
    return out


EPOCH_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def ack(seq: int, epoch: str) -> dict[str, Any]:
    """An ``ack`` payload: the highest ``seq`` of ``epoch`` stored with none missing below."""
    return {"epoch": epoch, "seq": seq}


def parse_ack(raw: bytes) -> tuple[str | None, int] | None:
    """``(epoch, seq)`` of an ack payload (epoch None: a v1 ack), or None when not one."""
    obj = decode_object(raw)
    if obj is None:
        return None
    seq, epoch = obj.get("seq"), obj.get("epoch")
    if not _is_int(seq) or seq < 0:
        return None
    if epoch is None:
        return None, seq
    if not isinstance(epoch, str) or EPOCH_RE.fullmatch(epoch) is None:
        return None
    return epoch, seq


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
