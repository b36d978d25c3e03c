"""A whole NCC for the web tests: real brokers, a real node process, the real Monitor, the
WebServer, and logins for a viewer and an operator.

The site broker (janti) is bridged over TLS to the central broker, as in the field; the
node is ``brexit node --simulate`` (kiosk-1 of janti) on the site broker; the Monitor
ingests the central broker. Alarms fire without hold-down so tests need not wait.
"""

from __future__ import annotations

import http.client
import json
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from brokers import BrokerPair, provisioned_pair, wait_until
from test_mqtt_node_process import NodeProcess, node_config

from ncc.auth import Auth, Role
from ncc.config import parse_config
from ncc.monitor import Monitor
from ncc.web.server import WebServer

PASSWORD = "kata-sandi-uji"
SITE, NODE = "janti", "kiosk-1"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        assert self.headers.get("content-type", "").startswith("application/json"), self.headers
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


@dataclass
class Ncc:
    pair: BrokerPair
    monitor: Monitor
    auth: Auth
    web: WebServer
    node: NodeProcess
    tokens: dict[str, str] = field(default_factory=dict)  # role -> bearer token

    def call(self, method: str, path: str, *, role: str | None = None,
             body: bytes | str | dict[str, Any] | None = None,
             headers: dict[str, str] | None = None, url: str | None = None) -> Answer:
        """One request with no redirects followed; ``role`` sends that role's bearer token."""
        parts = urlsplit(url or self.web.url)
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        sent = dict(headers or {})
        if role is not None:
            sent["Authorization"] = f"Bearer {self.tokens[role]}"
        data: bytes | None
        if isinstance(body, dict):
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        else:
            data = body.encode() if isinstance(body, str) else body
        try:
            conn.request(method, path, body=data, headers=sent)
            resp = conn.getresponse()
            return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def login(self, user: str) -> tuple[str, str]:
        """Log in through the login form as ``user``: (session cookie, csrf token)."""
        form = self.call("GET", "/login")
        login_cookie = form.headers["set-cookie"].split(";")[0]
        csrf = login_cookie.split("=", 1)[1]
        done = self.call("POST", "/login", body=f"user={user}&password={PASSWORD}&csrf={csrf}",
                         headers={"Content-Type": "application/x-www-form-urlencoded",
                                  "Cookie": login_cookie})
        assert done.status == 303, done.text
        cookie = done.headers["set-cookie"].split(";")[0]
        session = self.auth.session(cookie.split("=", 1)[1])
        assert session is not None
        return cookie, session.csrf

    def selftests_done(self) -> int:
        """How many self-test results of the node the NCC has stored (``selftest`` events)."""
        count, after = 0, 0
        while True:
            page = self.monitor.events(site=SITE, node=NODE, after=after, limit=1000)
            count += sum(1 for e in page["items"] if e["type"] == "selftest")
            if not page["items"]:
                return count
            after = page["next"]

    def wait_selftest(self, before: int) -> None:
        """Wait until the self-test the node started has ended (its result reached the NCC):
        while it runs it asks for each button, so a press is an answer, not a ticket."""
        wait_until(lambda: self.selftests_done() > before, "the node's self-test result",
                   timeout=180)

    def open_alarm(self, kind: str) -> dict[str, Any]:
        found: list[dict[str, Any]] = []

        def seen() -> bool:
            found[:] = [a for a in self.monitor.alarms(site=SITE)
                        if a["kind"] == kind and a["node"] == NODE and a["state"] == "open"]
            return bool(found)

        wait_until(seen, f"an open {kind} alarm")
        return found[0]


def start_ncc(root: Path, *, metrics_open: bool = True) -> Ncc:
    """Everything started in order; whatever started is stopped again if a later part fails."""
    with ExitStack() as undo:
        pair = provisioned_pair(root)
        undo.callback(pair.close)
        login = pair.ncc
        db = root / "ncc.db"
        config = parse_config({
            "mqtt": {"host": pair.central.host, "port": pair.central.port,
                     "username": login.username, "password": login.password,
                     "tls_ca": str(pair.central.ca)},
            "store": {"path": str(db)},
            "alarms": {"hold_down_s": 0},
        }, root / "ncc.toml")
        monitor = Monitor(config).start()
        undo.callback(monitor.close)
        auth = Auth(db)
        auth.add_user("budi", Role.VIEWER, PASSWORD)
        auth.add_user("sari", Role.OPERATOR, PASSWORD)
        tokens = {"viewer": auth.add_token("grafana", Role.VIEWER),
                  "operator": auth.add_token("skrip", Role.OPERATOR)}
        web = WebServer(monitor, auth, listen=("127.0.0.1", 0), metrics_open=metrics_open)
        undo.callback(web.close)
        web.start()
        node = NodeProcess(node_config(root / "node.toml", pair), root / "node-data",
                           root / "node.log")
        undo.callback(node.kill)
        wait_until(lambda: monitor.node_state_of(SITE, NODE) == "online",
                   "the node online at the NCC")
        undo.pop_all()
    return Ncc(pair, monitor, auth, web, node, tokens)


def stop_ncc(ncc: Ncc) -> None:
    try:
        if ncc.node.proc.poll() is None:
            ncc.node.quit()
    finally:
        ncc.web.close()
        ncc.monitor.close()
        ncc.pair.close()
