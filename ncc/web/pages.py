"""The dashboard's pages (Bahasa Indonesia), its form posts, static assets and /metrics.

Pages are rendered on the server from the same monitor views the API returns; the page's
script then keeps them live from the API and the event stream. Every form post carries
the session's CSRF token (checked by the server before a handler runs) and answers with a
redirect and a one-shot notice, so reloading never posts twice.
"""

from __future__ import annotations

import mimetypes
import secrets
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any
from urllib.parse import quote, urlencode

from ncc.messages import schemas
from ncc.monitor import SITES_PER_PAGE
from ncc.web import api, params
from ncc.web.app import App
from ncc.web.http import BadRequest, NotFound, Request, Response
from ncc.web.labels import COMMAND

SESSION_COOKIE = "ncc_session"
LOGIN_COOKIE = "ncc_login"  # double-submit CSRF token of the login form
COMMANDS = ("selftest", "reprint", "announce", "message")  # the node page's, in this order
SILENCE_HOURS = (1, 4, 8, 24, 72)


def no_handler(app: App, req: Request) -> Response:
    raise NotFound("streamed by the server")


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go back to; anything that could leave the site becomes ``default``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def page(app: App, req: Request, template: str, status: int = 200, **context: Any
         ) -> Response:
    ident = req.identity
    session = ident.session if ident else None
    context.setdefault("title", "NCC")
    return Response.html(app.render(
        template, me=ident, csrf=session.csrf if session else "",
        notices=app.notices.take(session.token) if session else [],
        can_act=bool(ident and ident.role.may_act()), path=req.path, **context,
    ), status)


def notify(app: App, req: Request, kind: str, text: str) -> None:
    if req.identity and req.identity.session:
        app.notices.add(req.identity.session.token, kind, text)


# login -------------------------------------------------------------------------------------
def login_form(app: App, req: Request, *, error: str = "", status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    target = safe_next(params.one(req.query, "next"))
    body = app.render("login.html", title="Masuk", csrf=token, next=target, error=error,
                      me=None, notices=[], can_act=False, path=req.path)
    cookie = f"{LOGIN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/login"
    return Response.html(body, status, (("Set-Cookie", cookie),))


def login(app: App, req: Request) -> Response:
    data = params.form(req.body)
    name = params.text_field(data, "user", required=False, max_len=64).strip()
    password = params.text_field(data, "password", required=False, max_len=256)
    target = safe_next(data.get("next"))
    again = Request(req.method, req.path, {"next": [target]}, req.headers, b"", None)
    if app.throttle.blocked(name):
        return login_form(app, again, status=429, error="Terlalu banyak percobaan yang salah. "
                          "Coba lagi beberapa menit lagi.")
    role = app.auth.check_password(name, password) if name and password else None
    if role is None:
        app.throttle.failed(name)
        return login_form(app, again, error="Nama pengguna atau kata sandi salah.", status=401)
    app.throttle.succeeded(name)
    session = app.auth.start_session(name, role)
    cookie = f"{SESSION_COOKIE}={session.token}; HttpOnly; SameSite=Strict; Path=/"
    return Response.redirect(target, (("Set-Cookie", cookie),))


def logout(app: App, req: Request) -> Response:
    if req.identity and req.identity.session:
        app.auth.end_session(req.identity.session.token)
    gone = f"{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"
    return Response.redirect("/login", (("Set-Cookie", gone),))


# pages -------------------------------------------------------------------------------------
def as_query(filters: dict[str, Any]) -> str:
    return urlencode({k: v for k, v in filters.items() if v is not None})


def overview(app: App, req: Request) -> Response:
    """Every site's tile for a fleet of a city's size; for a larger one (or a search) the
    fleet's totals, the sites needing attention first and one page of sites."""
    f = params.site_page(req.query)
    m = app.monitor
    if m.site_count() <= SITES_PER_PAGE and f["q"] is None:
        sites = m.sites()
        totals = {s: sum(site["nodes"].get(s, 0) for site in sites) for s in params.NODE_STATES}
        alarms = sum(site["open_alarms"] for site in sites)
        return page(app, req, "overview.html", title="Ringkasan armada", sites=sites,
                    site_total=len(sites), totals=totals, alarm_total=alarms, live="overview",
                    paged=None, summary=None, sites_api="/api/v1/sites")
    ids = m.site_ids(f["q"])
    pages = max(1, -(-len(ids) // SITES_PER_PAGE))
    number = min(f["page"], pages)
    offset = (number - 1) * SITES_PER_PAGE
    summary = m.summary()
    query = {"q": f["q"], "offset": offset, "limit": SITES_PER_PAGE}

    def link(n: int) -> str:
        return "/?" + as_query({"q": f["q"], "page": n})

    return page(app, req, "overview.html", title="Ringkasan armada",
                sites=m.site_entries(ids[offset:offset + SITES_PER_PAGE]),
                site_total=summary["sites"], totals=summary["nodes"],
                alarm_total=summary["open_alarms"], live="overview", summary=summary,
                paged={"page": number, "pages": pages, "found": len(ids), "q": f["q"] or "",
                       "first": offset + 1, "link": link},
                sites_api="/api/v1/sites?" + as_query(query))


def node_list(app: App, req: Request) -> Response:
    filters = params.node_filters(req.query)
    result = app.monitor.nodes(**filters)
    base = {k: v for k, v in filters.items() if v is not None and k not in ("offset",)}

    def link(**change: Any) -> str:
        return "/nodes?" + urlencode({**base, **change})

    return page(app, req, "nodes.html", title="Semua node", result=result, filters=filters,
                link=link, query=as_query(filters), sites=app.monitor.site_names(),
                live="nodes")


def site(app: App, req: Request) -> Response:
    view = api.find_site(app.monitor, req)
    return page(app, req, "site.html", title=view["name"], site=view,
                live="site")


def node(app: App, req: Request) -> Response:
    view = api.find_node(app.monitor, req)
    alarms = [a for a in app.monitor.alarms(state="open", site=view["site"])
              if a["node"] == view["node"]]
    return page(app, req, "node.html", title=f"Node {view['site']}/{view['node']}", node=view,
                alarms=alarms, commands=offered_commands(), live="node")


def offered_commands() -> list[str]:
    """The node page's commands that the contract defines (``message`` appears once
    ``contract/schemas/cmd/message.json`` exists)."""
    return [c for c in COMMANDS if c in schemas().command_names]


def alarms(app: App, req: Request) -> Response:
    filters = params.alarm_filters(req.query)
    return page(app, req, "alarms.html", title="Alarm", alarms=app.monitor.alarms(**filters),
                filters=filters, query=as_query(filters), sites=app.monitor.site_names(),
                hours=SILENCE_HOURS, live="alarms")


def audit(app: App, req: Request) -> Response:
    return page(app, req, "audit.html", title="Catatan audit",
                entries=app.monitor.audit(limit=200), live="")


# form posts --------------------------------------------------------------------------------
def ack(app: App, req: Request) -> Response:
    data = params.form(req.body)
    view = api.ack_alarm(app.monitor, req.params["id"], req.user)
    notify(app, req, "ok", f"Alarm #{view['id']} diakui.")
    return Response.redirect(safe_next(data.get("next"), "/alarms"))


def silence(app: App, req: Request) -> Response:
    data = params.form(req.body)
    hours = params.integer(data.get("hours") or None, "hours", default=4, lo=1, hi=24 * 14)
    until = (datetime.now(UTC) + timedelta(hours=hours)).isoformat(timespec="seconds")
    fields = {"site": data.get("site", ""), "node": data.get("node", ""), "until": until,
              "reason": data.get("reason", "")}
    api.add_silence(app.monitor, fields, req.user)
    target = fields["site"] + ("/" + fields["node"] if fields["node"] else "")
    notify(app, req, "ok", f"Alarm {target} dibisukan selama {hours} jam.")
    return Response.redirect(safe_next(data.get("next"), "/alarms"))


def command_args(name: str, data: dict[str, str]) -> dict[str, Any]:
    """The arguments of an operator's command from the node page's form."""
    if name == "reprint":
        return {"number": params.text_field(data, "number", required=True, max_len=16).strip()}
    if name in ("announce", "message"):
        return {"text": params.text_field(data, "text", required=True, max_len=300).strip()}
    return {}


def command(app: App, req: Request) -> Response:
    data = params.form(req.body)
    name = params.choice(data.get("name") or None, "name", tuple(offered_commands()))
    if name is None:
        raise BadRequest("name: choose a command")
    back = f"/nodes/{quote(req.params['site'])}/{quote(req.params['node'])}"
    try:
        reply = api.send_command(app.monitor, req, name, command_args(name, data))
    except BadRequest as exc:
        notify(app, req, "error", f"Perintah ditolak: {exc.message}")
        return Response.redirect(back + "#perintah")
    notify(app, req, "ok" if reply.get("ok") else "error", describe_reply(name, reply))
    return Response.redirect(back + "#perintah")


def describe_reply(name: str, reply: dict[str, Any]) -> str:
    what = COMMAND.get(name, name)
    if reply.get("ok"):
        data = reply.get("data")
        return f"{what}: berhasil." + (f" Jawaban node: {data}" if data else "")
    if reply.get("error") == "timeout":
        return f"{what}: node tidak menjawab (batas waktu habis)."
    return f"{what}: gagal. {reply.get('error', '')}".strip()


# static and metrics -----------------------------------------------------------------------
def static(app: App, req: Request) -> Response:
    name = req.params["file"]
    parts = name.split("/")
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts) or parts[-1].startswith(
            "axe"):
        raise NotFound(f"no file {name}")
    res = resources.files("ncc.web").joinpath("static", *parts)
    if not res.is_file():
        raise NotFound(f"no file {name}")
    kind = mimetypes.guess_type(parts[-1])[0] or "application/octet-stream"
    if kind.startswith("text/") or kind.endswith("javascript"):
        kind += "; charset=utf-8"
    return Response(200, res.read_bytes(), kind, (("Cache-Control", "max-age=3600"),))


def metrics(app: App, req: Request) -> Response:
    return Response(200, app.monitor.metrics(), "text/plain; version=0.0.4; charset=utf-8")

