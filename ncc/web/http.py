"""Values the web layer passes around: a request, a response, an HTTP error."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ncc.auth import Role, Session


class HttpError(Exception):
    """An answer other than success; ``message`` is shown to the client (JSON or page)."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(HttpError):
    status = 400


class Unauthorized(HttpError):
    status = 401


class Forbidden(HttpError):
    status = 403


class NotFound(HttpError):
    status = 404


class MethodNotAllowed(HttpError):
    status = 405


class PayloadTooLarge(HttpError):
    status = 413


class UnsupportedMediaType(HttpError):
    status = 415


@dataclass(frozen=True)
class Identity:
    """Who sent a request: by a session cookie (``session`` set) or a bearer token."""

    user: str
    role: Role
    session: Session | None = None


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    identity: Identity | None
    params: Mapping[str, str] = field(default_factory=dict)  # from the route's pattern

    @property
    def user(self) -> str:
        assert self.identity is not None
        return self.identity.user

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@dataclass(frozen=True)
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, value: Any, status: int = 200) -> Response:
        body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        return cls(status, body, "application/json; charset=utf-8")

    @classmethod
    def html(cls, text: str, status: int = 200, headers: tuple[tuple[str, str], ...] = ()
             ) -> Response:
        return cls(status, text.encode(), "text/html; charset=utf-8", headers)

    @classmethod
    def redirect(cls, location: str, headers: tuple[tuple[str, str], ...] = ()) -> Response:
        return cls(303, b"", "text/plain; charset=utf-8", (("Location", location), *headers))
