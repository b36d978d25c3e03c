"""The route table: every URL, who may use it, and the handler behind it.

``Access`` is checked by the server before a handler runs, so a handler never asks who
is calling except to record it. ``Kind`` decides how a refusal looks: an API answers 401
JSON, a page sends the browser to the login page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from ncc.web import api
from ncc.web.http import Request, Response

if TYPE_CHECKING:
    from ncc.web.app import App


class Access(Enum):
    PUBLIC = "public"  # login page, static assets
    VIEWER = "viewer"  # any login
    OPERATOR = "operator"  # acknowledge, silence, command
    METRICS = "metrics"  # open unless the config closes it, then any login


class Kind(Enum):
    API = "api"
    PAGE = "page"
    STREAM = "stream"  # Server-Sent Events, written by the server itself


Handler = Callable[["App", Request], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    access: Access
    kind: Kind


_SEG = {"site": r"(?P<site>[^/]+)", "node": r"(?P<node>[^/]+)", "id": r"(?P<id>[^/]+)",
        "name": r"(?P<name>[^/]+)", "file": r"(?P<file>.+)"}


def route(method: str, path: str, handler: Handler, access: Access, kind: Kind) -> Route:
    regex = re.sub(r"\{(\w+)\}", lambda m: _SEG[m.group(1)], path)
    return Route(method, re.compile(regex + r"\Z"), handler, access, kind)


def _api(fn: Callable[..., Response]) -> Handler:
    return lambda app, req: fn(app.monitor, req)


def table() -> tuple[Route, ...]:
    from ncc.web import impact, pages

    A, P, V, OP = Kind.API, Kind.PAGE, Access.VIEWER, Access.OPERATOR
    v1 = "/api/v1/"
    return (
        route("GET", v1 + "me", _api(api.me), V, A),
        route("GET", v1 + "nodes", _api(api.nodes), V, A),
        route("GET", v1 + "nodes/{site}/{node}", _api(api.node), V, A),
        route("POST", v1 + "nodes/{site}/{node}/cmd/{name}", _api(api.command), OP, A),
        route("GET", v1 + "sites", _api(api.sites), V, A),
        route("GET", v1 + "summary", _api(api.summary), V, A),
        route("GET", v1 + "sites/{site}", _api(api.site), V, A),
        route("GET", v1 + "alarms", _api(api.alarms), V, A),
        route("POST", v1 + "alarms/{id}/ack", _api(api.ack), OP, A),
        route("POST", v1 + "silences", _api(api.silences), OP, A),
        route("GET", v1 + "events", _api(api.events), V, A),
        route("GET", v1 + "audit", _api(api.audit), V, A),
        route("GET", v1 + "impact", _api(impact.api), V, A),
        route("GET", v1 + "stream", pages.no_handler, V, Kind.STREAM),
        route("GET", "/metrics", pages.metrics, Access.METRICS, A),
        route("GET", "/static/{file}", pages.static, Access.PUBLIC, P),
        route("GET", "/login", pages.login_form, Access.PUBLIC, P),
        route("POST", "/login", pages.login, Access.PUBLIC, P),
        route("POST", "/logout", pages.logout, V, P),
        route("GET", "/", pages.overview, V, P),
        route("GET", "/nodes", pages.node_list, V, P),
        route("GET", "/sites/{site}", pages.site, V, P),
        route("GET", "/nodes/{site}/{node}", pages.node, V, P),
        route("POST", "/nodes/{site}/{node}/cmd", pages.command, OP, P),
        route("GET", "/alarms", pages.alarms, V, P),
        route("POST", "/alarms/{id}/ack", pages.ack, OP, P),
        route("POST", "/silences", pages.silence, OP, P),
        route("GET", "/audit", pages.audit, V, P),
        route("GET", "/dampak", impact.page, V, P),
    )


def match(routes: tuple[Route, ...], method: str, path: str
          ) -> tuple[Route | None, dict[str, str], bool]:
    """The route for (method, path) with its path parameters, and whether any route has
    that path at all (so a wrong method is a 405, not a 404)."""
    path_known = False
    for r in routes:
        m = r.pattern.match(path)
        if m is None:
            continue
        path_known = True
        if r.method == method:
            return r, m.groupdict(), True
    return None, {}, path_known
