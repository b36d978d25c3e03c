"""The "Dampak" page and ``GET /api/v1/impact`` on the real web server and Monitor, over a
store holding the generated month with known answers (the 16 puskesmas of the fleet);
the page in real Chromium, checked by axe-core."""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from impact_month import arjuno, fill, janti
from playwright.sync_api import Browser, Page, expect
from test_ncc_browser_dashboard import axe_violations

from ncc.auth import Auth, Role
from ncc.config import parse_config
from ncc.monitor import Monitor
from ncc.store import SqliteStore
from ncc.web.server import WebServer

PASSWORD = "kata-sandi-uji"
expect.set_options(timeout=30_000)


@dataclass
class Web:
    server: WebServer
    token: str

    def get(self, path: str, token: str | None = "") -> tuple[int, bytes]:
        parts = urlsplit(self.server.url)
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
        headers = {} if token is None else {"Authorization": f"Bearer {token or self.token}"}
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def json(self, path: str) -> Any:
        status, body = self.get(path)
        assert status == 200, body
        return json.loads(body)


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    root: Path = tmp_path_factory.mktemp("impact-web")
    store = SqliteStore(root / "ncc.db")
    fill(store, janti(), arjuno())
    config = parse_config({"mqtt": {"allow_anonymous": True},
                           "store": {"path": str(root / "ncc.db")}}, root / "ncc.toml")
    monitor = Monitor(config, store=store)  # not started: no broker is needed here
    auth = Auth(root / "ncc.db")
    auth.add_user("budi", Role.VIEWER, PASSWORD)
    server = WebServer(monitor, auth, listen=("127.0.0.1", 0)).start()
    try:
        yield Web(server, auth.add_token("dinkes", Role.VIEWER))
    finally:
        server.close()
        store.close()


def test_the_api_returns_the_known_figures(web: Web) -> None:
    body = web.json("/api/v1/impact?month=2026-11&trend=day")
    assert body["period"] == {"kind": "month", "label": "2026-11", "first": "2026-11-01",
                              "last": "2026-11-30"}
    assert len(body["sites"]) == 16
    j = next(s for s in body["sites"] if s["site"] == "janti")
    assert j["pharmacy"] is True and j["availability_nodes"] == {"kios-1": 96.4}
    f = j["figures"]
    assert (f["tickets"], f["braille"], f["independence"], f["availability"]) == (
        24, 14, 71.4, 96.4)
    assert f["helps"] == "< 5" and f["label_share"] is None
    assert body["city"]["figures"]["independence"] == 78.9
    assert len(j["trend"]) == 30 and j["trend"][3]["period"] == "2026-11-04"
    assert [f["key"] for f in body["fields"]][:3] == ["tickets", "braille", "braille_share"]


def test_the_api_for_one_site_by_week(web: Web) -> None:
    body = web.json("/api/v1/impact?month=2026-11&site=janti")  # weeks by default
    assert [s["site"] for s in body["sites"]] == ["janti"]
    assert [t["period"] for t in body["sites"][0]["trend"]][:2] == ["2026-W44", "2026-W45"]


@pytest.mark.parametrize(("query", "status", "message"), [
    ("month=2026-13", 400, "month: '2026-13' is not YYYY-MM"),
    ("month=2026-11&trend=year", 400, "trend: must be one of day, week"),
    ("month=2026-11&site=nowhere", 404, "no site nowhere"),
    ("month=2026-11&site=..%2F", 400, "site: not a valid id"),
])
def test_bad_queries_are_refused(web: Web, query: str, status: int, message: str) -> None:
    got, body = web.get("/api/v1/impact?" + query)
    assert got == status and message in body.decode()


def test_the_api_needs_a_login(web: Web) -> None:
    assert web.get("/api/v1/impact", token=None)[0] == 401


# --- in the browser ---------------------------------------------------------------------
@pytest.fixture
def page(browser: Browser, web: Web) -> Iterator[Page]:
    context = browser.new_context(base_url=web.server.url.rstrip("/"), locale="id-ID")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto("/login?next=/dampak%3Fmonth%3D2026-11%26site%3Djanti%26trend%3Dday")
    pg.get_by_label("Nama pengguna").fill("budi")
    pg.get_by_label("Kata sandi").fill(PASSWORD)
    pg.get_by_role("button", name="Masuk").click()
    expect(pg.get_by_role("heading", level=1)).to_have_text("Dampak: November 2026")
    try:
        yield pg
    finally:
        context.close()
    assert not errors, errors


def test_the_impact_page_shows_the_city_table_and_the_trends(page: Page) -> None:
    table = page.get_by_role("table", name=re.compile("16 puskesmas, November 2026"))
    expect(table.locator("tbody tr")).to_have_count(16)
    janti_row = table.locator("tbody tr[data-key=janti]")
    expect(janti_row.locator("td").nth(3)).to_have_text("71,4")  # kemandirian
    expect(table.locator("tfoot")).to_contain_text("Kota Malang")
    expect(page.locator("#chart-city canvas")).to_have_count(1)
    expect(page.locator("#chart-site canvas")).to_have_count(1)
    expect(page.get_by_role("img", name=re.compile("Grafik tren UPT Puskesmas Janti"))
           ).to_be_visible()
    page.get_by_text("Tabel tren UPT Puskesmas Janti").click()
    trend = page.get_by_role("table", name="UPT Puskesmas Janti per hari")
    expect(trend.locator("tbody tr")).to_have_count(30)
    expect(trend.locator("tbody tr").nth(3)).to_contain_text("2026-11-04")
    expect(page.get_by_role("link", name="Dampak")).to_have_attribute("aria-current", "page")
    assert axe_violations(page) == []


def test_choosing_another_site_and_weeks_from_the_keyboard(page: Page) -> None:
    page.get_by_label("Tren puskesmas").select_option("arjuno")
    page.get_by_label("Tren per").select_option("week")  # the default; the page had days
    page.get_by_role("button", name="Tampilkan").press("Enter")
    expect(page.get_by_role("heading", name="Tren UPT Puskesmas Arjuno")).to_be_visible()
    page.get_by_text("Tabel tren UPT Puskesmas Arjuno").click()
    weeks = page.get_by_role("table", name="UPT Puskesmas Arjuno per minggu")
    expect(weeks.locator("tbody tr")).to_have_count(6)
    assert axe_violations(page) == []


def test_a_bad_month_in_the_address_is_a_clear_page(page: Page) -> None:
    page.goto("/dampak?month=2026-13")
    expect(page.locator("main")).to_contain_text("is not YYYY-MM")
