"""The pharmacy node's web form and API on the puskesmas LAN (stdlib HTTP server).

Pharmacists log in with their own name and password (``brexit pharmacist add``; stored
hashed with ``ncc.auth.Auth`` in ``pharmacists.db`` of the node's data directory). A
browser gets a session cookie and a CSRF token for every form; a script posts JSON to
``POST /api/v1/labels`` with a bearer token (``brexit pharmacist token``) or with the
session cookie and the ``X-CSRF-Token`` header.

Routes: ``GET /`` (the form), ``GET|POST /login``, ``POST /logout``, ``POST /labels``,
``POST /reprint``, ``POST /message``, ``POST /api/v1/labels``, ``GET /farmasi.css``.

Example::

    with PharmacyWeb(node.pharmacy, node.aid, Auth(data / "pharmacists.db"),
                     listen=("127.0.0.1", 0)).start() as web:
        print(web.url)
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Mapping
from html import escape
from http import cookies
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from edge.aid.aid import CounterAid
from edge.aid.aid import Source as AidSource
from edge.braille.codec import BrailleError
from edge.node_actions import CommandError
from edge.pharmacy import pages
from edge.pharmacy.braille_lines import braille_label
from edge.pharmacy.label import LabelError, parse_label
from edge.pharmacy.role import Made, Pharmacy, Source
from ncc.auth import Auth, LoginThrottle, Role, Session, csrf_ok

log = logging.getLogger(__name__)
COOKIE = "brexit_farmasi"
MAX_BODY = 16 * 1024
LIST_FIELDS = ("when", "warnings")
HEADERS = (
    ("Content-Security-Policy", "default-src 'self'; object-src 'none'; base-uri 'none'; "
     "form-action 'self'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"), ("Cache-Control", "no-store"),
)


class HttpError(Exception):
    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


def form_to_label(form: Mapping[str, list[str]]) -> dict[str, Any]:
    """The label's JSON from the form's fields (empty ones left out).

    >>> form_to_label({"drug": ["Parasetamol"], "when": ["pagi", "malam"], "age": [""],
    ...                "external": ["1"]})
    {'drug': 'Parasetamol', 'when': ['pagi', 'malam'], 'external': True}
    """
    out: dict[str, Any] = {}
    for name in pages.TEXT_FIELDS:
        value = form.get(name, [""])[0].strip()
        if value:
            out[name] = value
    for name in LIST_FIELDS:
        if form.get(name):
            out[name] = list(form[name])
    if form.get("external"):
        out["external"] = True
    return out


class PharmacyWeb:
    """Serves the form on ``listen`` (port 0: a free one) until ``close``."""

    def __init__(self, pharmacy: Pharmacy, aid: CounterAid | None, auth: Auth, *,
                 listen: tuple[str, int]) -> None:
        self.pharmacy = pharmacy
        self.aid = aid
        self.auth = auth
        self.throttle = LoginThrottle()
        self._httpd = _Server(listen, _Handler, self)
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.2}, name="pharmacy-web",
                                        daemon=True)
        self._closed = False

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/"

    def start(self) -> PharmacyWeb:
        self._thread.start()
        return self

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()

    def __enter__(self) -> PharmacyWeb:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- what the routes do ------------------------------------------------------------

    def make(self, raw: Any, source: Source, user: str) -> Made:
        try:
            return self.pharmacy.make(raw, source=source, user=user)
        except LabelError as e:
            raise HttpError(400, e.message, e.field) from None

    def main_page(self, session: Session, query: Mapping[str, list[str]],
                  form: tuple[Mapping[str, str], Mapping[str, list[str]]] | None = None,
                  error: tuple[str, str] | None = None, notice: str = "") -> str:
        number = query.get("dibuat", [""])[0]
        kept = self.pharmacy.store.find(number) if number else None
        if kept is not None and not notice:
            notice = self._notice(number, kept.body, query.get("ke", []))
        faults = self.pharmacy.faults()
        if faults:
            notice += pages.faults_notice(faults)
        values, lists = form or ({}, {})
        sections = [pages.label_form(values, lists, error)]
        if self.aid is not None:
            config = self.aid.config
            sections.append(pages.message_form([p.text for p in config.phrases],
                                               config.answers))
        rows = [(k.number, f"{k.body.get('drug', '')} {k.body.get('strength', '')}".strip(),
                 k.user) for k in self.pharmacy.store.recent()]
        sections.append(pages.recent_list(rows))
        return pages.main_page(session.user, session.csrf, notice, sections)

    def _notice(self, number: str, body: dict[str, Any], outputs: list[str]) -> str:
        try:
            label = parse_label({k: v for k, v in body.items() if k != "date"},
                                today=self.pharmacy.today().date())
            made = braille_label(label, self.pharmacy.width)
        except LabelError:  # expired since: it cannot be reprinted either
            return ""
        known = [o for o in outputs if o in ("embosser", "printer", "speech")]
        return pages.made_notice(number, made.lines, known, made.omitted)

    def message(self, form: Mapping[str, list[str]]) -> str:
        text = (form.get("text", [""])[0].strip() or form.get("phrase", [""])[0].strip())
        if self.aid is None:
            raise HttpError(404, "node ini tidak punya sel Braille")
        if not text:
            raise HttpError(400, "pilih pesan cepat atau tulis pesan", "text")
        try:
            shown = self.aid.ask(text, source=AidSource.FORM)
        except (CommandError, BrailleError) as e:
            raise HttpError(400, str(e), "text") from None
        return (f'<div class="ok" role="status"><p>Pesan tampil di sel Braille '
                f'({shown["pages"]} halaman) dan diucapkan.</p></div>')


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, listen: tuple[str, int], handler: type[_Handler], web: PharmacyWeb
                 ) -> None:
        self.web = web
        super().__init__(listen, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        log.exception("pharmacy web: connection from %s failed", client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "brexit-farmasi"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("pharmacy web: " + format, *args)

    # --- plumbing ----------------------------------------------------------------------

    @property
    def web(self) -> PharmacyWeb:
        return self.server.web

    def _send(self, status: int, body: bytes, content_type: str,
              extra: tuple[tuple[str, str], ...] = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (*HEADERS, *extra):
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _html(self, text: str, status: int = 200) -> None:
        self._send(status, text.encode(), "text/html; charset=utf-8")

    def _json(self, value: Any, status: int = 200) -> None:
        self._send(status, json.dumps(value, ensure_ascii=False).encode(),
                   "application/json; charset=utf-8")

    def _redirect(self, location: str, extra: tuple[tuple[str, str], ...] = ()) -> None:
        self._send(303, b"", "text/plain; charset=utf-8", (("Location", location), *extra))

    def _body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise HttpError(400, "Content-Length bukan angka") from None
        if length > MAX_BODY:
            self.close_connection = True
            raise HttpError(413, f"isi permintaan lebih dari {MAX_BODY} byte")
        return self.rfile.read(length) if length > 0 else b""

    def _form(self) -> dict[str, list[str]]:
        try:
            return parse_qs(self._body().decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise HttpError(400, "formulir bukan UTF-8") from None

    def _session(self) -> Session | None:
        jar = cookies.SimpleCookie()
        try:
            jar.load(self.headers.get("Cookie", ""))
        except cookies.CookieError:
            return None
        morsel = jar.get(COOKIE)
        session = self.web.auth.session(morsel.value) if morsel else None
        return session if session is not None and session.role is Role.OPERATOR else None

    # --- methods -----------------------------------------------------------------------

    def do_GET(self) -> None:
        self._run(self._get)

    def do_POST(self) -> None:
        self._run(self._post)

    def _run(self, route: Any) -> None:
        url = urlsplit(self.path)
        try:
            route(url.path, parse_qs(url.query))
        except HttpError as e:
            if url.path.startswith("/api/"):
                self._json({"error": e.message, **({"field": e.field} if e.field else {})},
                           e.status)
            else:
                self._html(pages.page("Galat", f'<p role="alert">{escape(e.message)}</p>'),
                           e.status)

    def _get(self, path: str, query: Mapping[str, list[str]]) -> None:
        if path == "/farmasi.css":
            self._send(200, pages.CSS.encode(), "text/css; charset=utf-8")
        elif path == "/login":
            self._html(pages.login_page(None))
        elif path == "/":
            session = self._session()
            if session is None:
                self._redirect("/login")
            else:
                self._html(self.web.main_page(session, query))
        else:
            raise HttpError(404, "halaman tidak ada")

    def _post(self, path: str, query: Mapping[str, list[str]]) -> None:
        if path == "/api/v1/labels":
            self._api_label()
        elif path == "/login":
            self._login()
        else:
            session = self._session()
            if session is None:
                self._body()
                self._redirect("/login")
                return
            form = self._form()
            if not csrf_ok(session, form.get("csrf", [None])[0]):
                raise HttpError(403, "formulir kedaluwarsa; muat ulang halaman")
            self._page_post(path, session, form)

    def _page_post(self, path: str, session: Session, form: dict[str, list[str]]) -> None:
        if path == "/logout":
            self.web.auth.end_session(session.token)
            self._redirect("/login", ((
                "Set-Cookie", f"{COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict"),))
        elif path == "/labels":
            self._form_label(session, form)
        elif path == "/reprint":
            number = form.get("number", [""])[0]
            try:
                made = self.web.pharmacy.reprint(number, user=session.user)
            except LabelError as e:
                raise HttpError(400, e.message, e.field) from None
            self._redirect(_made_url(made))
        elif path == "/message":
            try:
                notice = self.web.message(form)
            except HttpError as e:
                notice = ('<div class="alert" role="alert">Pesan belum terkirim: '
                          f"{escape(e.message)}</div>")
            self._html(self.web.main_page(session, {}, notice=notice))
        else:
            raise HttpError(404, "halaman tidak ada")

    def _form_label(self, session: Session, form: dict[str, list[str]]) -> None:
        raw = form_to_label(form)
        try:
            made = self.web.make(raw, Source.FORM, session.user)
        except HttpError as e:
            values = {k: v for k, v in raw.items() if isinstance(v, str)}
            values["external"] = "1" if raw.get("external") else ""
            lists = {k: raw.get(k, []) for k in LIST_FIELDS}
            page = self.web.main_page(session, {}, (values, lists), (e.field or "label", e.message))
            self._html(page, 400)
            return
        self._redirect(_made_url(made))

    def _login(self) -> None:
        form = self._form()
        name = form.get("name", [""])[0].strip()
        password = form.get("password", [""])[0]
        web = self.web
        if web.throttle.blocked(name):
            self._html(pages.login_page("Terlalu banyak percobaan; coba lagi 5 menit lagi."), 429)
            return
        role = web.auth.check_password(name, password) if name else None
        if role is not Role.OPERATOR:
            web.throttle.failed(name)
            self._html(pages.login_page("Nama pengguna atau kata sandi salah."), 401)
            return
        web.throttle.succeeded(name)
        session = web.auth.start_session(name, role)
        self._redirect("/", (("Set-Cookie", f"{COOKIE}={session.token}; Path=/; HttpOnly; "
                              "SameSite=Strict"),))

    def _api_label(self) -> None:
        user = self._api_user()
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            raise HttpError(415, "kirim label sebagai application/json")
        try:
            raw = json.loads(self._body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise HttpError(400, "isi permintaan bukan JSON", "label") from None
        made = self.web.make(raw, Source.API, user)
        self._json({**made.summary(), "braille": list(made.braille.lines)}, 201)

    def _api_user(self) -> str:
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            found = self.web.auth.check_token(auth[7:].strip())
            if found is not None and found[1] is Role.OPERATOR:
                return found[0]
            raise HttpError(401, "token tidak dikenal")
        session = self._session()
        if session is None:
            raise HttpError(401, "masuk dulu, atau kirim Authorization: Bearer <token>")
        if not csrf_ok(session, self.headers.get("X-CSRF-Token")):
            raise HttpError(403, "X-CSRF-Token salah")
        return session.user


def _made_url(made: Made) -> str:
    outputs = "".join(f"&ke={o}" for o in made.outputs)
    return f"/?dibuat={quote(made.label.number)}{outputs}"
