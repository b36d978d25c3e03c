"""The NCC's HTTP API and pages against the real Monitor, brokers and a real node process:
who may use every route, CSRF, logins, bad input (4xx with a message, never a 500), the
operator's actions, Server-Sent Events and /metrics."""

from __future__ import annotations

import http.client
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import pytest
from brokers import wait_until
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ncc_web_env import NODE, PASSWORD, SITE, Ncc, start_ncc, stop_ncc

from ncc.auth import Role
from ncc.web import routes, server
from ncc.web.server import WebServer

SOON = (datetime.now(UTC) + timedelta(hours=2)).isoformat(timespec="seconds")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

# Every route: (method, path to call, role it needs). Operator calls use valid input.
API = [
    ("GET", "/api/v1/me", "viewer"),
    ("GET", "/api/v1/nodes", "viewer"),
    ("GET", f"/api/v1/nodes/{SITE}/{NODE}", "viewer"),
    ("POST", f"/api/v1/nodes/{SITE}/{NODE}/cmd/selftest", "operator"),
    ("GET", "/api/v1/sites", "viewer"),
    ("GET", "/api/v1/summary", "viewer"),
    ("GET", f"/api/v1/sites/{SITE}", "viewer"),
    ("GET", "/api/v1/alarms?state=all", "viewer"),
    ("POST", "/api/v1/alarms/999999/ack", "operator"),
    ("POST", "/api/v1/silences", "operator"),
    ("GET", "/api/v1/events?after=0", "viewer"),
    ("GET", "/api/v1/audit", "viewer"),
    ("GET", "/api/v1/impact", "viewer"),
]
PAGES = [
    ("GET", "/", "viewer"),
    ("GET", "/nodes", "viewer"),
    ("GET", f"/sites/{SITE}", "viewer"),
    ("GET", f"/nodes/{SITE}/{NODE}", "viewer"),
    ("GET", "/alarms", "viewer"),
    ("GET", "/audit", "viewer"),
    ("GET", "/dampak", "viewer"),
    ("POST", f"/nodes/{SITE}/{NODE}/cmd", "operator"),
    ("POST", "/alarms/999999/ack", "operator"),
    ("POST", "/silences", "operator"),
    ("POST", "/logout", "viewer"),
]
PUBLIC = [("GET", "/login"), ("POST", "/login"), ("GET", "/static/app.js"), ("GET", "/metrics"),
          ("GET", "/api/v1/stream")]
BODIES = {"/api/v1/silences": {"site": SITE, "node": NODE, "until": SOON, "reason": "uji"},
          "/silences": f"site={SITE}&node={NODE}&hours=1"}


@pytest.fixture(scope="module")
def ncc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ncc]:
    env = start_ncc(tmp_path_factory.mktemp("ncc-web"))
    try:
        yield env
    finally:
        stop_ncc(env)


@pytest.fixture
def no_server_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.ERROR, logger="ncc.web")
    yield
    errors = [r for r in caplog.records if r.name.startswith("ncc.web")]
    assert not errors, [r.getMessage() for r in errors]


def test_every_route_is_in_this_file() -> None:
    def pattern(path: str) -> str:
        return path.split("?")[0]

    tested = {(m, pattern(p)) for m, p, _ in API + PAGES} | set(PUBLIC)
    for r in routes.table():
        assert any(m == r.method and r.pattern.match(p) for m, p in tested), r


def body_for(path: str) -> bytes | None:
    body = BODIES.get(path)
    if isinstance(body, dict):
        return json.dumps(body).encode()
    return body.encode() if body else None


@pytest.mark.parametrize(("method", "path", "needs"), API)
def test_api_authorization(ncc: Ncc, method: str, path: str, needs: str,
                           no_server_errors: None) -> None:
    headers = {"Content-Type": "application/json"}
    nobody = ncc.call(method, path, body=body_for(path), headers=headers)
    assert nobody.status == 401 and "error" in nobody.json()
    assert nobody.headers["www-authenticate"].startswith("Bearer")
    viewer = ncc.call(method, path, role="viewer", body=body_for(path), headers=headers)
    operator = ncc.call(method, path, role="operator", body=body_for(path), headers=headers)
    if needs == "operator":
        assert viewer.status == 403 and viewer.json() == {"error": "operators only"}
    else:
        assert viewer.status == 200, viewer.text
    expected = 404 if "999999" in path else 201 if path.endswith("silences") else 200
    assert operator.status == expected, operator.text


@pytest.mark.parametrize(("method", "path", "needs"), PAGES)
def test_page_authorization(ncc: Ncc, method: str, path: str, needs: str,
                            no_server_errors: None) -> None:
    nobody = ncc.call(method, path, body=body_for(path), headers=FORM)
    assert nobody.status == 303
    assert nobody.headers["location"].startswith("/login?next=")
    viewer = ncc.call(method, path, role="viewer", body=body_for(path), headers=FORM)
    if needs == "operator":
        assert viewer.status == 403 and "Tidak diizinkan" in viewer.text
    elif method == "GET":
        assert viewer.status == 200 and '<html lang="id">' in viewer.text


def test_login_sets_a_strict_http_only_cookie_and_logout_ends_it(ncc: Ncc) -> None:
    form = ncc.call("GET", "/login")
    assert form.status == 200 and "Masuk" in form.text
    login_cookie = form.headers["set-cookie"].split(";")[0]
    csrf = login_cookie.split("=", 1)[1]
    wrong = ncc.call("POST", "/login", body=f"user=sari&password=salah-sekali&csrf={csrf}",
                     headers={**FORM, "Cookie": login_cookie})
    assert wrong.status == 401 and "Nama pengguna atau kata sandi salah." in wrong.text
    right = ncc.call("POST", "/login",
                     body=f"user=sari&password=kata-sandi-uji&csrf={csrf}&next=/alarms",
                     headers={**FORM, "Cookie": login_cookie})
    assert right.status == 303 and right.headers["location"] == "/alarms"
    flags = [f.strip() for f in right.headers["set-cookie"].split(";")]
    assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= set(flags)
    cookie = flags[0]
    assert ncc.call("GET", "/api/v1/me", headers={"Cookie": cookie}).json() == {
        "user": "sari", "role": "operator"}
    session = ncc.auth.session(cookie.split("=", 1)[1])
    assert session is not None
    bye = ncc.call("POST", "/logout", body=f"csrf={session.csrf}",
                   headers={**FORM, "Cookie": cookie})
    assert bye.status == 303 and bye.headers["location"] == "/login"
    assert ncc.call("GET", "/api/v1/me", headers={"Cookie": cookie}).status == 401


def test_repeated_wrong_passwords_lock_the_name_for_a_while(ncc: Ncc) -> None:
    ncc.auth.add_user("dewi", Role.OPERATOR, PASSWORD)
    form = ncc.call("GET", "/login")
    cookie = form.headers["set-cookie"].split(";")[0]
    csrf = cookie.split("=", 1)[1]

    def attempt(password: str) -> int:
        return ncc.call("POST", "/login", body=f"user=dewi&password={password}&csrf={csrf}",
                        headers={**FORM, "Cookie": cookie}).status

    assert [attempt(f"salah-{i}") for i in range(5)] == [401] * 5
    locked = ncc.call("POST", "/login", body=f"user=dewi&password={PASSWORD}&csrf={csrf}",
                      headers={**FORM, "Cookie": cookie})
    assert locked.status == 429 and "Terlalu banyak percobaan" in locked.text


def test_login_is_refused_without_its_form_token(ncc: Ncc) -> None:
    answer = ncc.call("POST", "/login", body="user=sari&password=kata-sandi-uji&csrf=x",
                      headers=FORM)
    assert answer.status == 403
    assert "set-cookie" not in answer.headers


def test_login_never_redirects_off_site(ncc: Ncc) -> None:
    form = ncc.call("GET", "/login?next=//evil.example/")
    cookie = form.headers["set-cookie"].split(";")[0]
    csrf = cookie.split("=", 1)[1]
    done = ncc.call("POST", "/login",
                    body=f"user=budi&password=kata-sandi-uji&csrf={csrf}&next=//evil.example/",
                    headers={**FORM, "Cookie": cookie})
    assert done.status == 303 and done.headers["location"] == "/"


@pytest.mark.parametrize(
    ("headers", "body"),
    [({}, "{}"), ({"X-CSRF-Token": "salah"}, "{}"), ({}, "csrf=salah")],
)
def test_cookie_posts_need_the_session_csrf_token(ncc: Ncc, headers: dict[str, str],
                                                  body: str) -> None:
    cookie, _ = ncc.login("sari")
    kind = "application/json" if body == "{}" else "application/x-www-form-urlencoded"
    for path in ("/api/v1/alarms/999999/ack", "/alarms/999999/ack"):
        answer = ncc.call("POST", path, body=body,
                          headers={"Cookie": cookie, "Content-Type": kind, **headers})
        assert answer.status == 403, (path, answer.text)
        assert "csrf" in answer.text


def test_csrf_token_passes_and_a_foreign_origin_does_not(ncc: Ncc) -> None:
    cookie, csrf = ncc.login("sari")
    good = {"Cookie": cookie, "X-CSRF-Token": csrf}
    assert ncc.call("POST", "/api/v1/alarms/999999/ack", headers=good).status == 404
    form = ncc.call("POST", "/alarms/999999/ack", body=f"csrf={csrf}",
                    headers={**FORM, "Cookie": cookie})
    assert form.status == 404  # past CSRF: the alarm does not exist
    foreign = ncc.call("POST", "/api/v1/alarms/999999/ack",
                       headers={**good, "Origin": "http://evil.example"})
    assert foreign.status == 403 and "Origin" in foreign.json()["error"]


BAD_API = [
    ("GET", "/api/v1/nodes?limit=abc", None, 400),
    ("GET", "/api/v1/nodes?limit=0", None, 400),
    ("GET", "/api/v1/nodes?sort=version", None, 400),
    ("GET", "/api/v1/nodes?state=luring", None, 400),
    ("GET", "/api/v1/nodes?site=JANTI", None, 400),
    ("GET", "/api/v1/nodes?offset=-5", None, 400),
    ("GET", "/api/v1/nodes?site=a&site=b", None, 400),
    ("GET", "/api/v1/nodes?" + "&".join(f"x{i}=1" for i in range(60)), None, 400),
    ("GET", "/api/v1/nodes/JANTI/kiosk-1", None, 400),
    ("GET", "/api/v1/nodes/janti/%00", None, 400),
    ("GET", "/api/v1/nodes/janti/%2e%2e", None, 400),
    ("GET", "/api/v1/nodes/janti/tidak-ada", None, 404),
    ("GET", "/api/v1/sites/tidak-ada", None, 404),
    ("GET", "/api/v1/alarms?state=closed", None, 400),
    ("GET", "/api/v1/alarms?kind=%3Cscript%3E", None, 400),
    ("GET", "/api/v1/events?node=kiosk-1", None, 400),
    ("GET", "/api/v1/events?after=-1", None, 400),
    ("GET", "/api/v1/audit?limit=100000", None, 400),
    ("GET", "/api/v1/tidak-ada", None, 404),
    ("DELETE", "/api/v1/nodes", None, 405),
    ("PUT", "/api/v1/alarms/1/ack", None, 405),
    ("POST", "/api/v1/alarms/abc/ack", None, 400),
    ("GET", "/api/v1/sites?limit=0", None, 400),
    ("GET", "/api/v1/sites?offset=-1", None, 400),
    ("GET", "/api/v1/sites?q=" + "x" * 65, None, 400),
    ("POST", "/api/v1/alarms/0/ack", None, 400),
    ("POST", "/api/v1/silences", "{", 400),
    ("POST", "/api/v1/silences", "[]", 400),
    ("POST", "/api/v1/silences", "{}", 400),
    ("POST", "/api/v1/silences", json.dumps({"site": SITE, "until": "besok"}), 400),
    ("POST", "/api/v1/silences", json.dumps({"site": SITE, "until": "2026-12-01T10:00"}), 400),
    ("POST", "/api/v1/silences", json.dumps({"site": SITE, "until": "2001-01-01T00:00:00Z"}),
     400),
    ("POST", "/api/v1/silences", json.dumps({"site": 5, "until": SOON}), 400),
    ("POST", "/api/v1/silences", json.dumps({"site": "Janti!", "until": SOON}), 400),
    ("POST", "/api/v1/silences", json.dumps({"site": SITE, "until": SOON, "reason": "x" * 201}),
     400),
    ("POST", f"/api/v1/nodes/{SITE}/{NODE}/cmd/format_disk", "{}", 400),
    ("POST", f"/api/v1/nodes/{SITE}/{NODE}/cmd/Selftest", "{}", 400),
    ("POST", f"/api/v1/nodes/{SITE}/{NODE}/cmd/selftest", '{"x": 1}', 400),
    ("POST", f"/api/v1/nodes/{SITE}/{NODE}/cmd/announce", "{}", 400),
    ("POST", f"/api/v1/nodes/{SITE}/{NODE}/cmd/announce", '{"text": 5}', 400),
    ("POST", f"/api/v1/nodes/{SITE}/{NODE}/cmd/announce", '{"text": "   "}', 400),
    ("POST", f"/api/v1/nodes/{SITE}/{NODE}/cmd/selftest",
     '{"id": "6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"}', 400),
    ("POST", "/api/v1/nodes/janti/tidak-ada/cmd/selftest", "{}", 404),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), BAD_API)
def test_bad_api_input_is_a_4xx_with_a_message(ncc: Ncc, method: str, path: str,
                                               body: str | None, status: int,
                                               no_server_errors: None) -> None:
    answer = ncc.call(method, path, role="operator", body=body,
                      headers={"Content-Type": "application/json"} if body else {})
    assert answer.status == status, answer.text
    message = answer.json()["error"]
    assert message and "Traceback" not in message


def test_bodies_of_the_wrong_kind_or_size_are_refused(ncc: Ncc, no_server_errors: None
                                                      ) -> None:
    path = "/api/v1/silences"
    plain = ncc.call("POST", path, role="operator", body="site=janti",
                     headers={"Content-Type": "text/plain"})
    assert plain.status == 415
    huge = ncc.call("POST", path, role="operator", body=b"{" + b" " * 70_000 + b"}",
                    headers={"Content-Type": "application/json"})
    assert huge.status == 413
    for value in ("abc", "-1"):
        conn = http.client.HTTPConnection(urlsplit(ncc.web.url).hostname or "",
                                          urlsplit(ncc.web.url).port, timeout=10)
        conn.putrequest("POST", path)
        conn.putheader("Authorization", f"Bearer {ncc.tokens['operator']}")
        conn.putheader("Content-Length", value)
        conn.endheaders()
        assert conn.getresponse().status == 400
        conn.close()


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"Authorization": "Bearer ncc_salah"}, 401), ({"Authorization": "Basic c2FyaTp4"}, 401),
     ({"Authorization": "Bearer"}, 401), ({"Cookie": "ncc_session=palsu"}, 401),
     ({"Cookie": "ncc_session=\"\\"}, 401)],
)
def test_bad_credentials(ncc: Ncc, headers: dict[str, str], status: int,
                         no_server_errors: None) -> None:
    assert ncc.call("GET", "/api/v1/nodes", headers=headers).status == status


@pytest.mark.parametrize(
    "path", ["/static/../auth.py", "/static/%2e%2e/auth.py", "/static/vendor/axe.min.js",
             "/static/.hidden", "/static/tidak-ada.js", "/static/"],
)
def test_static_serves_only_the_dashboard_assets(ncc: Ncc, path: str,
                                                 no_server_errors: None) -> None:
    assert ncc.call("GET", path).status == 404


def test_static_assets_and_security_headers(ncc: Ncc) -> None:
    script = ncc.call("GET", "/static/app.js")
    assert script.status == 200 and script.headers["content-type"].startswith("text/javascript")
    chart = ncc.call("GET", "/static/vendor/uPlot.iife.min.js")
    assert chart.status == 200 and b"uPlot" in chart.body
    page = ncc.call("GET", "/", role="viewer")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"


BAD_PAGES = [
    ("GET", "/nodes?limit=x", None, 400),
    ("GET", "/nodes?sort=-version", None, 400),
    ("GET", "/alarms?state=x", None, 400),
    ("GET", "/sites/tidak-ada", None, 404),
    ("GET", "/?page=0", None, 400),
    ("GET", "/?page=dua", None, 400),
    ("GET", "/?q=%00", None, 400),
    ("GET", "/nodes/janti/TIDAK", None, 400),
    ("GET", "/tidak-ada", None, 404),
    ("POST", "/silences", f"site={SITE}&hours=abc", 400),
    ("POST", "/silences", f"site={SITE}&hours=0", 400),
    ("POST", "/silences", "site=&hours=1", 400),
    ("POST", f"/nodes/{SITE}/{NODE}/cmd", "name=format_disk", 400),
    ("POST", f"/nodes/{SITE}/{NODE}/cmd", "name=selftest&name=reprint", 400),
    ("POST", "/alarms/x/ack", "", 400),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), BAD_PAGES)
def test_bad_page_input_is_a_4xx_page(ncc: Ncc, method: str, path: str, body: str | None,
                                      status: int, no_server_errors: None) -> None:
    answer = ncc.call(method, path, role="operator", body=body, headers=FORM if body else {})
    assert answer.status == status, answer.text
    assert '<html lang="id">' in answer.text and "Traceback" not in answer.text


def test_operator_acknowledges_an_alarm_and_it_is_audited(ncc: Ncc) -> None:
    ncc.node.send("fault printer paper_out", "press A")  # found when it prints
    alarm = ncc.open_alarm("printer")
    assert alarm["detail"] == "paper_out" and alarm["severity"] in ("critical", "warning")
    listed = ncc.call("GET", "/api/v1/alarms", role="viewer").json()
    assert any(a["id"] == alarm["id"] for a in listed)
    assert ncc.call("POST", f"/api/v1/alarms/{alarm['id']}/ack", role="viewer").status == 403
    cookie, csrf = ncc.login("sari")
    acked = ncc.call("POST", f"/api/v1/alarms/{alarm['id']}/ack",
                     headers={"Cookie": cookie, "X-CSRF-Token": csrf}).json()
    assert (acked["state"], acked["acked_by"]) == ("acked", "sari")
    audit = ncc.call("GET", "/api/v1/audit", role="viewer").json()
    assert any(e["user"] == "sari" and e["target"] == f"alarm/{alarm['id']}" for e in audit)
    page = ncc.call("GET", f"/alarms?site={SITE}", headers={"Cookie": cookie})
    assert "diakui" in page.text and "Printer bermasalah" in page.text
    ncc.node.send("fault printer ok", "press A")
    wait_until(lambda: not [a for a in ncc.monitor.alarms(site=SITE) if a["id"] == alarm["id"]],
               "the alarm to clear once the paper is back")


def test_selftest_reaches_the_node_and_its_reply_comes_back(ncc: Ncc) -> None:
    before = ncc.selftests_done()
    reply = ncc.call("POST", f"/api/v1/nodes/{SITE}/{NODE}/cmd/selftest", role="operator",
                     body={}).json()
    assert reply["ok"] is True, reply
    assert reply["data"] == {"started": True, "trigger": "command"}
    ncc.wait_selftest(before)  # its result arrives as the node's selftest event
    assert len(reply["id"]) == 36
    audit = ncc.call("GET", "/api/v1/audit", role="viewer").json()
    assert any(e["user"] == "skrip" and e["target"] == f"{SITE}/{NODE}" and "selftest" in
               e["action"] for e in audit), audit[:3]


def test_command_form_shows_the_reply_on_the_node_page(ncc: Ncc) -> None:
    cookie, csrf = ncc.login("sari")
    sent = ncc.call("POST", f"/nodes/{SITE}/{NODE}/cmd",
                    body=f"csrf={csrf}&name=announce&text=Poli+gigi+tutup+pukul+12",
                    headers={**FORM, "Cookie": cookie})
    assert sent.status == 303 and sent.headers["location"].endswith(f"/{NODE}#perintah")
    page = ncc.call("GET", f"/nodes/{SITE}/{NODE}", headers={"Cookie": cookie})
    assert "Umumkan lewat pengeras suara: berhasil." in page.text
    again = ncc.call("GET", f"/nodes/{SITE}/{NODE}", headers={"Cookie": cookie})
    assert "berhasil." not in again.text  # a notice is shown once


def test_events_page_on_with_the_cursor(ncc: Ncc) -> None:
    ncc.node.send("press A", "press B")
    wait_until(lambda: len(ncc.monitor.events(site=SITE, node=NODE)["items"]) >= 2, "events")
    first = ncc.call("GET", f"/api/v1/events?site={SITE}&node={NODE}&limit=1",
                     role="viewer").json()
    rest = ncc.call("GET", f"/api/v1/events?site={SITE}&node={NODE}&after={first['next']}",
                    role="viewer").json()
    assert len(first["items"]) == 1
    assert rest["items"] and all(e["cursor"] > first["next"] for e in rest["items"])
    node = ncc.call("GET", f"/api/v1/nodes/{SITE}/{NODE}", role="viewer").json()
    assert node["state"] == "online" and node["recent_events"]


def test_nodes_are_paginated_filtered_and_sorted(ncc: Ncc) -> None:
    everything = ncc.call("GET", "/api/v1/nodes?limit=1000", role="viewer").json()
    page = ncc.call("GET", "/api/v1/nodes?limit=5&offset=5&sort=-last_seen",
                    role="viewer").json()
    assert page["total"] == everything["total"] > 10 and len(page["items"]) == 5
    online = ncc.call("GET", "/api/v1/nodes?state=online", role="viewer").json()
    assert [(n["site"], n["node"]) for n in online["items"]] == [(SITE, NODE)]
    first = ncc.call("GET", "/api/v1/nodes?sort=-last_seen&limit=1", role="viewer").json()
    assert (first["items"][0]["site"], first["items"][0]["node"]) == (SITE, NODE)


def test_node_pages_cover_every_node_once_in_every_sort(ncc: Ncc) -> None:
    def keys(query: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        while True:
            page = ncc.call("GET", f"/api/v1/nodes?{query}&limit=7&offset={len(out)}",
                            role="viewer").json()
            out += [(n["site"], n["node"]) for n in page["items"]]
            if not page["items"]:
                assert len(out) == page["total"]
                return out

    ordered = keys("sort=site")
    assert ordered == sorted(set(ordered)) and (SITE, NODE) in ordered
    backwards = keys("sort=-site")  # sites descending, each site's nodes ascending
    assert backwards == sorted(ordered, key=lambda k: (k[0], [-ord(c) for c in k[1]]),
                               reverse=True)
    assert sorted(keys("sort=state")) == ordered
    newest = ncc.call("GET", "/api/v1/nodes?sort=-last_seen&limit=1000", role="viewer").json()
    seen = [n["last_seen"] or "" for n in newest["items"]]
    assert seen == sorted(seen, reverse=True) and seen[0]
    never = [(n["site"], n["node"]) for n in newest["items"] if n["last_seen"] is None]
    assert never == sorted(never) and len(never) > 1  # ties stay in (site, node) order
    by_state = ncc.call("GET", "/api/v1/nodes?sort=state&limit=1000", role="viewer").json()
    order = {"offline": 0, "silent": 1, "online": 2}
    assert [order[n["state"]] for n in by_state["items"]] == sorted(
        order[n["state"]] for n in by_state["items"])
    offline = [(n["site"], n["node"]) for n in by_state["items"] if n["state"] == "offline"]
    assert offline == sorted(offline)
    of_site = ncc.call("GET", f"/api/v1/nodes?site={SITE}", role="viewer").json()
    assert [(n["site"], n["node"]) for n in of_site["items"]] == [
        k for k in ordered if k[0] == SITE]
    assert ncc.call("GET", "/api/v1/nodes?site=tidak-ada", role="viewer").json() == {
        "items": [], "total": 0}


def test_sites_are_paged_searched_and_summed_up(ncc: Ncc) -> None:
    every = ncc.call("GET", "/api/v1/sites", role="viewer").json()
    assert len(every) == len(ncc.monitor.fleet.sites) > 3
    assert [s["site"] for s in every] == [s.id for s in ncc.monitor.fleet.sites]
    page = ncc.call("GET", "/api/v1/sites?offset=2&limit=2", role="viewer").json()
    assert page == every[2:4]
    name = ncc.monitor.fleet.sites[3].name
    found = ncc.call("GET", "/api/v1/sites?" + urlencode({"q": name.upper()}),
                     role="viewer").json()
    assert [s["site"] for s in found] == [ncc.monitor.fleet.sites[3].id]
    summary = ncc.call("GET", "/api/v1/summary", role="viewer").json()
    assert summary["sites"] == len(every)
    nodes = ncc.call("GET", "/api/v1/nodes", role="viewer").json()["total"]
    assert sum(summary["nodes"].values()) == nodes  # listed and seen ones
    assert summary["nodes"]["online"] >= 1
    assert summary["open_alarms"] == sum(summary["alarms_by_kind"].values()) == len(
        ncc.monitor.alarms())
    assert [s["site"] for s in summary["attention"]] and all(
        s["nodes"]["online"] < sum(s["nodes"].values()) or s["open_alarms"]
        for s in summary["attention"])
    overview = ncc.call("GET", "/", role="viewer").text  # a city: every site's tile
    assert overview.count('class="tile"') == len(every) and "Perlu perhatian" not in overview
    searched = ncc.call("GET", "/?q=" + quote(name), role="viewer").text  # a search: paged
    assert searched.count('class="tile"') == 1 + len(summary["attention"])
    assert "1 puskesmas cocok dengan" in searched


def test_the_stream_sends_changes(ncc: Ncc) -> None:
    parts = urlsplit(ncc.web.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    conn.request("GET", "/api/v1/stream",
                 headers={"Authorization": f"Bearer {ncc.tokens['viewer']}"})
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Content-Type", "").startswith(
        "text/event-stream")
    assert resp.readline().startswith(b"retry:")
    ncc.node.send("fault embosser offline", "press C")
    change = None
    while change is None or change.get("kind") != "alarm":
        line = resp.readline()
        assert line, "the stream ended"
        if line.startswith(b"data: "):
            change = json.loads(line[6:])
    assert change["site"] == SITE
    conn.close()
    ncc.node.send("fault embosser ok", "press C")


def test_metrics_open_by_default_or_behind_a_token(ncc: Ncc) -> None:
    open_metrics = ncc.call("GET", "/metrics")
    assert open_metrics.status == 200 and b"brexit_nodes" in open_metrics.body
    with WebServer(ncc.monitor, ncc.auth, listen=("127.0.0.1", 0),
                   metrics_open=False).start() as closed:
        assert ncc.call("GET", "/metrics", url=closed.url).status == 401
        ok = ncc.call("GET", "/metrics", url=closed.url, role="viewer")
        assert ok.status == 200 and ok.headers["content-type"].startswith("text/plain")


def test_close_is_idempotent_and_ends_streams(ncc: Ncc, tmp_path: Path) -> None:
    web = WebServer(ncc.monitor, ncc.auth, listen=("127.0.0.1", 0)).start()
    parts = urlsplit(web.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    conn.request("GET", "/api/v1/stream",
                 headers={"Authorization": f"Bearer {ncc.tokens['viewer']}"})
    resp = conn.getresponse()
    resp.readline()
    web.close()
    web.close()
    while resp.readline():
        pass  # the server ended the stream: reading reaches the end instead of hanging
    conn.close()


def test_a_busy_thread_yields_the_gil_sooner_while_the_server_serves(ncc: Ncc) -> None:
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)  # Python's default
    try:
        web = WebServer(ncc.monitor, ncc.auth, listen=("127.0.0.1", 0)).start()
        assert sys.getswitchinterval() == server.GIL_SWITCH_S < 0.005
        web.close()
        assert sys.getswitchinterval() == 0.005
    finally:
        sys.setswitchinterval(before)


def test_a_refused_body_is_never_read_as_the_next_request(ncc: Ncc) -> None:
    parts = urlsplit(ncc.web.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    smuggled = b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\n\r\n"
    conn.request("PUT", "/api/v1/alarms/1/ack", body=smuggled,  # 405 before the body is read
                 headers={"Authorization": f"Bearer {ncc.tokens['viewer']}"})
    refused = conn.getresponse()
    refused.read()
    assert refused.status == 405 and refused.getheader("Connection") == "close"
    conn.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {ncc.tokens['viewer']}"})
    again = conn.getresponse()
    assert again.status == 200 and json.loads(again.read())["user"] == "grafana"
    conn.close()


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(["/api/v1/nodes", "/api/v1/alarms", "/api/v1/events",
                           "/api/v1/audit", "/api/v1/sites", "/nodes", "/alarms", "/"]),
    field=st.sampled_from(["site", "node", "state", "sort", "offset", "limit", "after",
                           "kind", "q", "page"]),
    value=st.text(max_size=30),
    segment=st.text(min_size=1, max_size=20),
)
def test_any_query_or_path_is_answered_without_a_500(ncc: Ncc, route: str, field: str,
                                                     value: str, segment: str) -> None:
    query = route + "?" + urlencode({field: value})
    assert ncc.call("GET", query, role="viewer").status < 500
    path = f"/api/v1/nodes/{quote(segment, safe='')}/{quote(segment, safe='')}"
    assert ncc.call("GET", path, role="viewer").status in (200, 400, 404)
    cmd = f"/api/v1/nodes/{SITE}/{NODE}/cmd/{quote(segment, safe='')}"
    assert ncc.call("POST", cmd, role="operator", body={"text": value}).status in (200, 400)
