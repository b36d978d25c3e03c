"""The overview of a fleet too large for one page, in a real browser (Debian's chromium):
fleet totals, the sites needing attention first, pages of 50 sites, a search, and a tile
that changes live (the event stream) when a simulated node goes away.

The fleet is the broker pair's two sites (simulated nodes on the real central broker) and
118 listed sites never heard from (offline, so they need attention)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from brokers import BrokerPair, wait_until
from browser import chromium
from ncc_helpers import ncc_config, pair_fleet, running, sim_fleet
from playwright.sync_api import Page, expect
from test_ncc_browser_dashboard import axe_violations

from contract.fleet import Fleet, parse_fleet
from ncc.auth import Auth, Role
from ncc.monitor import Monitor
from ncc.web.server import WebServer

PASSWORD = "kata-sandi-uji"
EXTRA = 118
expect.set_options(timeout=30_000)


def large_fleet(pair: BrokerPair) -> Fleet:
    small = pair_fleet(pair)
    defaults = {"services": [{"code": "A", "name": "Poli Umum"}],
                "counters": [{"number": 1, "services": ["A"]}]}
    listed: list[dict[str, Any]] = [
        {"id": s.id, "name": s.name, "kecamatan": s.kecamatan,
         "nodes": [{"id": n.id, "roles": list(n.roles),
                    **({"counters": list(n.counters)} if n.counters else {})}
                   for n in s.nodes]} for s in small.sites]
    listed += [{"id": f"pkm-{i:03d}", "name": f"Puskesmas Uji {i}", "kecamatan": "Lowokwaru",
                "nodes": [{"id": "kios-1", "roles": ["kiosk", "broker"]}]}
               for i in range(1, EXTRA + 1)]
    return parse_fleet({"defaults": defaults, "site": listed})


@pytest.fixture
def page(broker_pair: BrokerPair, tmp_path: Path) -> Iterator[tuple[Page, Any]]:
    fleet = large_fleet(broker_pair)
    config = ncc_config(broker_pair, tmp_path)
    with running(config, fleet) as monitor, sim_fleet(broker_pair,
                                                      pair_fleet(broker_pair)) as sims:
        auth = Auth(tmp_path / "ncc.db")
        auth.add_user("sari", Role.OPERATOR, PASSWORD)
        web = WebServer(monitor, auth, listen=("127.0.0.1", 0))
        web.start()
        try:
            wait_online(monitor, "janti", "kiosk-1")
            with chromium() as browser:
                context = browser.new_context(base_url=web.url.rstrip("/"), locale="id-ID")
                pg = context.new_page()
                errors: list[str] = []
                pg.on("pageerror", lambda exc: errors.append(str(exc)))
                yield pg, sims
                assert not errors, errors
        finally:
            web.close()


def wait_online(monitor: Monitor, site: str, node: str) -> None:
    wait_until(lambda: monitor.node_state_of(site, node) == "online", f"{site}/{node} online")


def log_in(page: Page) -> None:
    page.goto("/")
    page.get_by_label("Nama pengguna").fill("sari")
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ringkasan armada")


def test_a_large_fleet_is_paged_searched_and_kept_live(page: tuple[Page, Any]) -> None:
    pg, sims = page
    log_in(pg)
    total = EXTRA + 2
    expect(pg.locator('[data-total="sites"]')).to_have_text(str(total))
    sites = pg.locator("ul[data-rows=sites] > li.tile")
    expect(sites).to_have_count(50)
    expect(pg.locator("#site-count")).to_have_text(
        f"{total} puskesmas; menampilkan 1–50, halaman 1 dari 3.")
    # never heard from: offline, so they are listed as needing attention
    attention = pg.locator("ul[data-rows=attention] > li.tile")
    expect(attention).to_have_count(12)
    expect(attention.first).to_contain_text("Puskesmas Uji")
    expect(pg.get_by_role("link", name="Puskesmas Janti")).to_have_count(1)
    assert axe_violations(pg) == []

    pg.get_by_role("link", name="Berikutnya").click()
    expect(pg).to_have_url(re.compile(r"/\?page=2$"))
    expect(pg.locator("#site-count")).to_contain_text("menampilkan 51–100, halaman 2 dari 3")
    expect(sites.first).to_have_attribute("data-site", "pkm-049")
    pg.get_by_role("link", name="Berikutnya").click()
    expect(sites).to_have_count(total - 100)
    expect(pg.get_by_role("link", name="Berikutnya")).to_have_count(0)
    pg.get_by_role("link", name="Sebelumnya").click()
    expect(pg).to_have_url(re.compile(r"/\?page=2$"))

    search = pg.get_by_role("searchbox", name="Kode, nama, atau kecamatan")
    search.fill("janti")
    search.press("Enter")
    expect(sites).to_have_count(1)
    expect(pg.locator("#site-count")).to_contain_text("1 puskesmas cocok dengan “janti”")
    pg.goto("/?q=tidak-ada-yang-cocok")
    expect(pg.locator("#site-count")).to_have_text(
        "Tidak ada puskesmas yang cocok dengan “tidak-ada-yang-cocok”.")
    expect(sites).to_have_count(0)
    assert axe_violations(pg) == []

    # live: janti's kiosk goes away; its tile and the fleet totals follow without reload
    pg.goto("/?q=janti")
    expect(pg.locator("#stream-state")).to_have_text("tersambung")
    tile = pg.locator('ul[data-rows=sites] li[data-site="janti"]')
    expect(tile.locator("[data-f=online]")).to_have_text("2")
    online_before = int(pg.locator('[data-total="online"]').inner_text().split()[-1])
    pg.evaluate("window.stayed = true")
    sims.connections["janti"].do(lambda c: c.go_away("kiosk-1"))
    expect(tile.locator("[data-f=online]")).to_have_text("1")
    expect(pg.locator('[data-total="online"]')).to_have_text(
        re.compile(rf"\s{online_before - 1}$"))
    expect(pg.locator("#live")).to_contain_text("UPT Puskesmas Janti: 1 daring")
    assert pg.evaluate("window.stayed") is True
