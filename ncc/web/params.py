"""Pure parsing of what a client sends: query strings, path ids, JSON and form bodies.

Every function raises ``BadRequest`` (a 400 with a message naming the field) on bad input,
so a handler never sees a value it has to check again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from ncc.web.http import BadRequest

ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")  # site and node ids, as in the MQTT contract
CMD_RE = re.compile(r"[a-z][a-z_]{0,31}")
NODE_STATES = ("online", "silent", "offline")
NODE_SORTS = ("site", "node", "state", "last_seen")
ALARM_STATES = ("open", "all")
MAX_LIMIT = 1000
MAX_BODY = 64 * 1024

Query = Mapping[str, list[str]]


def parse_query(text: str) -> dict[str, list[str]]:
    try:
        return parse_qs(text, keep_blank_values=True, strict_parsing=False, max_num_fields=50)
    except ValueError as exc:
        raise BadRequest(f"query: {exc}") from None


def one(query: Query, name: str) -> str | None:
    """The single value of ``name``; None when absent or empty; 400 when repeated."""
    values = query.get(name, [])
    if len(values) > 1:
        raise BadRequest(f"{name}: given {len(values)} times")
    return values[0] if values and values[0] != "" else None


def ident(value: str | None, name: str) -> str | None:
    if value is not None and not ID_RE.fullmatch(value):
        raise BadRequest(f"{name}: not a valid id: {value[:40]!r}")
    return value


def choice(value: str | None, name: str, allowed: tuple[str, ...]) -> str | None:
    if value is not None and value not in allowed:
        raise BadRequest(f"{name}: must be one of {', '.join(allowed)}")
    return value


def integer(value: str | None, name: str, *, default: int, lo: int, hi: int) -> int:
    if value is None:
        return default
    if not re.fullmatch(r"[0-9]{1,12}", value):
        raise BadRequest(f"{name}: must be a whole number")
    number = int(value)
    if not lo <= number <= hi:
        raise BadRequest(f"{name}: must be between {lo} and {hi}")
    return number


def sort_key(value: str | None, allowed: tuple[str, ...], default: str) -> str:
    if value is None:
        return default
    if value.removeprefix("-") not in allowed:
        raise BadRequest(f"sort: must be one of {', '.join(allowed)}, '-' before for descending")
    return value


def node_filters(query: Query) -> dict[str, Any]:
    """Arguments of ``Monitor.nodes`` from ``?site=&state=&sort=&offset=&limit=``."""
    return {
        "site": ident(one(query, "site"), "site"),
        "state": choice(one(query, "state"), "state", NODE_STATES),
        "sort": sort_key(one(query, "sort"), NODE_SORTS, "site"),
        "offset": integer(one(query, "offset"), "offset", default=0, lo=0, hi=10**9),
        "limit": integer(one(query, "limit"), "limit", default=100, lo=1, hi=MAX_LIMIT),
    }


def search_text(value: str | None) -> str | None:
    """A site search (id, name or kecamatan): printable text of at most 64 characters."""
    if value is None:
        return None
    value = value.strip()
    if len(value) > 64 or not value.isprintable():
        raise BadRequest("q: at most 64 printable characters")
    return value or None


def site_filters(query: Query) -> dict[str, Any]:
    """Arguments of ``Monitor.sites`` from ``?q=&offset=&limit=`` (no limit: every site)."""
    limit = one(query, "limit")
    return {
        "q": search_text(one(query, "q")),
        "offset": integer(one(query, "offset"), "offset", default=0, lo=0, hi=10**9),
        "limit": None if limit is None else integer(limit, "limit", default=0, lo=1,
                                                    hi=MAX_LIMIT),
    }


def site_page(query: Query) -> dict[str, Any]:
    """The overview's ``?page=`` (from 1) and ``?q=``."""
    return {"q": search_text(one(query, "q")),
            "page": integer(one(query, "page"), "page", default=1, lo=1, hi=10**6)}


def alarm_filters(query: Query) -> dict[str, Any]:
    kind = one(query, "kind")
    if kind is not None and not CMD_RE.fullmatch(kind.replace(".", "_")):
        raise BadRequest("kind: not a valid alarm kind")
    return {
        "state": choice(one(query, "state"), "state", ALARM_STATES) or "open",
        "site": ident(one(query, "site"), "site"),
        "kind": kind,
    }


def event_filters(query: Query) -> dict[str, Any]:
    site = ident(one(query, "site"), "site")
    node = ident(one(query, "node"), "node")
    if node is not None and site is None:
        raise BadRequest("node: needs site too")
    return {
        "site": site,
        "node": node,
        "after": integer(one(query, "after"), "after", default=0, lo=0, hi=2**62),
        "limit": integer(one(query, "limit"), "limit", default=100, lo=1, hi=MAX_LIMIT),
    }


def alarm_id(text: str) -> int:
    return integer(text, "alarm id", default=0, lo=1, hi=2**62)


def json_object(body: bytes) -> dict[str, Any]:
    """A JSON object body (an empty body is ``{}``)."""
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"body: not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise BadRequest("body: must be a JSON object")
    return value


def form(body: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body; a repeated field is a 400."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise BadRequest("form: not UTF-8") from None
    return {name: one(fields, name) or "" for fields in [parse_query(text)] for name in fields}


def text_field(data: Mapping[str, Any], name: str, *, required: bool, max_len: int) -> str:
    value = data.get(name, "")
    if not isinstance(value, str):
        raise BadRequest(f"{name}: must be text")
    if required and not value.strip():
        raise BadRequest(f"{name}: required")
    if len(value) > max_len:
        raise BadRequest(f"{name}: at most {max_len} characters")
    return value
