"""The JSON API under ``/api/v1/``: thin handlers over ``ncc.monitor.Monitor``.

Each handler parses with ``params`` (bad input is a 400 before the monitor sees it), calls
one monitor method and answers JSON. The dashboard's own script uses these same routes.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ncc.web import params
from ncc.web.http import BadRequest, NotFound, Request, Response, UnsupportedMediaType

if TYPE_CHECKING:
    from ncc.monitor import Monitor

COMMAND_TIMEOUT_S = 10.0


def body_fields(req: Request) -> dict[str, Any]:
    """A POST's fields, from JSON or from a form."""
    if req.content_type == "application/json":
        return params.json_object(req.body)
    if req.content_type == "application/x-www-form-urlencoded":
        return dict(params.form(req.body))
    if not req.body.strip():
        return {}
    raise UnsupportedMediaType("body: send application/json")


def nodes(monitor: Monitor, req: Request) -> Response:
    return Response.json(monitor.nodes(**params.node_filters(req.query)))


def node(monitor: Monitor, req: Request) -> Response:
    return Response.json(find_node(monitor, req))


def find_node(monitor: Monitor, req: Request) -> dict[str, Any]:
    site = params.ident(req.params["site"], "site")
    name = params.ident(req.params["node"], "node")
    assert site is not None and name is not None
    view = monitor.node(site, name)
    if view is None:
        raise NotFound(f"no node {site}/{name}")
    return view


def sites(monitor: Monitor, req: Request) -> Response:
    return Response.json(monitor.sites(**params.site_filters(req.query)))


def summary(monitor: Monitor, req: Request) -> Response:
    return Response.json(monitor.summary())


def site(monitor: Monitor, req: Request) -> Response:
    return Response.json(find_site(monitor, req))


def find_site(monitor: Monitor, req: Request) -> dict[str, Any]:
    site_id = params.ident(req.params["site"], "site")
    assert site_id is not None
    view = monitor.site(site_id)
    if view is None:
        raise NotFound(f"no site {site_id}")
    return view


def alarms(monitor: Monitor, req: Request) -> Response:
    return Response.json(monitor.alarms(**params.alarm_filters(req.query)))


def ack(monitor: Monitor, req: Request) -> Response:
    return Response.json(ack_alarm(monitor, req.params["id"], req.user))


def ack_alarm(monitor: Monitor, alarm: str, user: str) -> dict[str, Any]:
    try:
        return monitor.ack_alarm(params.alarm_id(alarm), user=user)
    except KeyError:
        raise NotFound(f"no alarm {alarm}") from None


def silences(monitor: Monitor, req: Request) -> Response:
    return Response.json(add_silence(monitor, body_fields(req), req.user), status=201)


def add_silence(monitor: Monitor, data: dict[str, Any], user: str) -> dict[str, Any]:
    site_id = params.ident(params.text_field(data, "site", required=True, max_len=32), "site")
    node_id = params.ident(params.text_field(data, "node", required=False, max_len=32) or None,
                           "node")
    until = params.text_field(data, "until", required=True, max_len=40)
    try:
        if datetime.fromisoformat(until.replace("Z", "+00:00")).tzinfo is None:
            raise BadRequest("until: needs a time zone (e.g. 2026-11-30T17:00:00+07:00)")
    except ValueError:
        raise BadRequest("until: not an ISO 8601 time") from None
    reason = params.text_field(data, "reason", required=False, max_len=200)
    assert site_id is not None
    try:
        return monitor.silence(site=site_id, node=node_id, until=until, user=user, reason=reason)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def command(monitor: Monitor, req: Request) -> Response:
    args = body_fields(req)
    args.pop("csrf", None)
    return Response.json(send_command(monitor, req, req.params["name"], args))


def send_command(monitor: Monitor, req: Request, name: str, args: dict[str, Any]
                 ) -> dict[str, Any]:
    view = find_node(monitor, req)
    if not params.CMD_RE.fullmatch(name):
        raise BadRequest(f"command: not a valid name: {name[:40]!r}")
    if "id" in args:
        raise BadRequest("id: chosen by the NCC, do not send it")
    try:
        return monitor.command(view["site"], view["node"], name, args, user=req.user,
                               timeout_s=COMMAND_TIMEOUT_S)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def events(monitor: Monitor, req: Request) -> Response:
    return Response.json(monitor.events(**params.event_filters(req.query)))


def audit(monitor: Monitor, req: Request) -> Response:
    limit = params.integer(params.one(req.query, "limit"), "limit", default=100, lo=1,
                           hi=params.MAX_LIMIT)
    return Response.json(monitor.audit(limit=limit))


def me(monitor: Monitor, req: Request) -> Response:
    ident = req.identity
    assert ident is not None
    return Response.json({"user": ident.user, "role": ident.role.value})
