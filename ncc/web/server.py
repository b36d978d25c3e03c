"""The NCC's HTTP server: stdlib ``ThreadingHTTPServer``, one thread per connection.

The request handler does the plumbing in one order: match the route, find who is
calling (bearer token or session cookie), check the route's access and the CSRF token of
a cookie-authenticated post, read a bounded body, run the handler. A refusal is a 4xx
with a message (JSON for the API, a page or a redirect to the login for pages); anything
unexpected is a logged traceback and a plain 500.

Example::

    with WebServer(monitor, Auth(db), listen=("127.0.0.1", 0)).start() as web:
        print(web.url)
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Mapping
from http import cookies
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from ncc.auth import Auth, Role, csrf_ok
from ncc.web import params, routes, sse
from ncc.web.app import App
from ncc.web.http import (
    BadRequest,
    Forbidden,
    HttpError,
    Identity,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Request,
    Response,
    Unauthorized,
)
from ncc.web.pages import LOGIN_COOKIE, SESSION_COOKIE

if TYPE_CHECKING:
    from ncc.monitor import Monitor

log = logging.getLogger(__name__)

SECURITY_HEADERS = (
    ("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; "
     "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
)
# How long a thread busy in Python (the evaluator's pass over 30,000 nodes, an ingest
# batch) keeps the GIL from a request that waits for it: Python's default is 5 ms, and a
# page waits that long again after every SQLite call or socket write (measured: a site
# page 80 ms behind one busy thread at 5 ms, 2.5 ms at 1 ms; docs/ncc.md).
GIL_SWITCH_S = 0.001
SLOW_REQUEST_S = 0.2  # a request slower than the dashboard's target is logged


class WebServer:
    """The API, the dashboard and /metrics on ``listen`` (port 0: a free port)."""

    def __init__(self, monitor: Monitor, auth: Auth, *, listen: tuple[str, int],
                 metrics_open: bool = True) -> None:
        self.app = App(monitor=monitor, auth=auth, metrics_open=metrics_open)
        self.routes = routes.table()
        self._httpd = _Server(listen, _Handler, self)
        self._thread: threading.Thread | None = None
        self._closed = False
        self._switch_before: float | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/"

    def start(self) -> WebServer:
        """Serve on a thread of its own; the process's GIL switch interval becomes
        ``GIL_SWITCH_S`` while it serves (a shorter one is kept)."""
        before = sys.getswitchinterval()
        if before > GIL_SWITCH_S:
            self._switch_before = before
            sys.setswitchinterval(GIL_SWITCH_S)
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.2}, name="ncc-web",
                                        daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.app.stop.set()  # ends the event streams
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()
        if self._switch_before is not None and sys.getswitchinterval() == GIL_SWITCH_S:
            sys.setswitchinterval(self._switch_before)

    def __enter__(self) -> WebServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, listen: tuple[str, int], handler: type[_Handler], web: WebServer
                 ) -> None:
        self.web = web
        super().__init__(listen, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer is normal; anything else is logged."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            log.debug("NCC web: %s went away: %s", client_address, error)
        else:
            log.exception("NCC web: connection from %s failed", client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "brexit-ncc"
    sys_version = ""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_HEAD(self) -> None:
        self._refuse(MethodNotAllowed("HEAD is not served"), api=True)

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    # the pipeline --------------------------------------------------------------------------
    def _serve(self, method: str) -> None:
        self._body_read = False
        started, cpu = time.perf_counter(), time.thread_time()
        web = self.server.web
        parts = urlsplit(self.path)
        is_api = parts.path.startswith("/api/") or parts.path == "/metrics"
        try:
            route, found, known = routes.match(web.routes, method, parts.path)
            if route is None:
                raise (MethodNotAllowed if known else NotFound)(
                    f"{method} {parts.path[:80]}: " + ("method not allowed" if known
                                                      else "no such page"))
            is_api = route.kind is not routes.Kind.PAGE
            req = self._request(method, parts.path, parts.query, route, found)
            self._admit(route, req)
            if route.kind is routes.Kind.STREAM:
                self._stream()
                return
            self._send(route.handler(web.app, req))
            took = time.perf_counter() - started
            if took >= SLOW_REQUEST_S:
                log.warning("NCC web: %s %s took %.0f ms (%.1f ms of CPU)", method,
                            parts.path[:80], took * 1000, (time.thread_time() - cpu) * 1000)
        except HttpError as exc:
            self._refuse(exc, api=is_api)
        except Exception:
            log.exception("NCC web: %s %s failed", method, parts.path[:200])
            self._send(Response.json({"error": "internal error"}, 500) if is_api else
                       Response.html("<p>Kesalahan server.</p>", 500))

    def _request(self, method: str, path: str, query: str, route: routes.Route,
                 found: dict[str, str]) -> Request:
        headers = {k.lower(): v for k, v in self.headers.items()}
        return Request(
            method=method, path=path, query=params.parse_query(query), headers=headers,
            body=self._body() if method == "POST" else b"",
            identity=self._identity(headers), params={k: unquote(v) for k, v in found.items()},
        )

    def _body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None:
            if self.headers.get("Transfer-Encoding"):
                raise BadRequest("body: send Content-Length, not chunked")
            return b""
        if not length.isdigit():
            raise BadRequest("Content-Length: not a number")
        if int(length) > params.MAX_BODY:
            raise PayloadTooLarge(f"body: at most {params.MAX_BODY} bytes")
        self._body_read = True
        return self.rfile.read(int(length))

    def _identity(self, headers: dict[str, str]) -> Identity | None:
        auth: Auth = self.server.web.app.auth
        bearer = headers.get("authorization", "")
        if bearer:
            scheme, _, token = bearer.partition(" ")
            found = auth.check_token(token.strip()) if scheme.lower() == "bearer" else None
            if found is None:
                raise Unauthorized("Authorization: unknown or malformed bearer token")
            return Identity(found[0], found[1])
        session_token = _cookie(headers, SESSION_COOKIE)
        session = auth.session(session_token) if session_token else None
        return Identity(session.user, session.role, session) if session else None

    def _admit(self, route: routes.Route, req: Request) -> None:
        """Raise unless ``req`` may use ``route``."""
        access, ident = route.access, req.identity
        if access is routes.Access.METRICS and self.server.web.app.metrics_open:
            return
        if access is not routes.Access.PUBLIC and ident is None:
            raise Unauthorized("login required")
        if access is routes.Access.OPERATOR and ident is not None and ident.role is not (
                Role.OPERATOR):
            raise Forbidden("operators only")
        if req.method == "POST":
            self._check_csrf(req)

    def _check_csrf(self, req: Request) -> None:
        origin = req.headers.get("origin")
        if origin and origin != f"http://{req.headers.get('host', '')}":
            raise Forbidden("Origin: cross-site post refused")
        if req.path == "/login":
            expected = _cookie(req.headers, LOGIN_COOKIE)
            given = params.form(req.body).get("csrf")
            if not expected or given != expected:
                raise Forbidden("csrf: the login form expired, load it again")
            return
        session = req.identity.session if req.identity else None
        if session is None:
            return  # a bearer token is not sent by browsers on their own: no CSRF
        given = req.headers.get("x-csrf-token")
        if given is None and req.content_type == "application/x-www-form-urlencoded":
            given = params.form(req.body).get("csrf")
        if not csrf_ok(session, given):
            raise Forbidden("csrf: missing or wrong token")

    # answers -------------------------------------------------------------------------------
    def _refuse(self, exc: HttpError, *, api: bool) -> None:
        if not getattr(self, "_body_read", False) and self.headers.get("Content-Length",
                                                                        "0") != "0":
            self.close_connection = True  # its unread body must not be taken for a request
        if isinstance(exc, Unauthorized) and not api:
            target = self.path if self.command == "GET" else "/"
            self._send(Response.redirect("/login?next=" + quote(target, safe="/")))
            return
        if api:
            response = Response.json({"error": exc.message}, exc.status)
            if isinstance(exc, Unauthorized):
                response = Response(response.status, response.body, response.content_type,
                                    (("WWW-Authenticate", 'Bearer realm="ncc"'),))
        else:
            web = self.server.web
            text = web.app.render("error.html", title="Galat", status=exc.status,
                                  message=exc.message, me=None, csrf="", notices=[],
                                  can_act=False, path="", live="")
            response = Response.html(text, exc.status)
        self._send(response)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        if not any(name == "Cache-Control" for name, _ in response.headers):
            self.send_header("Cache-Control", "no-store")
        if self.close_connection:
            self.send_header("Connection", "close")
        for name, value in (*SECURITY_HEADERS, *response.headers):
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _stream(self) -> None:
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Accel-Buffering", "no")
        self.end_headers()
        app = self.server.web.app

        def write(data: bytes) -> None:
            self.wfile.write(data)
            self.wfile.flush()

        sse.stream(app.monitor, write, app.stop)


def _cookie(headers: Mapping[str, str], name: str) -> str | None:
    jar = cookies.SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except cookies.CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None
