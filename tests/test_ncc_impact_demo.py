"""`brexit ncc demo` starts with a month of simulated history: its Dampak page shows the
16 puskesmas with figures, a trend chart with a table behind it, and passes axe-core."""

from __future__ import annotations

import re

from browser import chromium
from playwright.sync_api import expect
from test_ncc_browser_dashboard import axe_violations
from test_ncc_browser_demo import demo

__all__ = ["demo"]  # the fixture: the demo as a process


def test_the_demo_shows_a_month_of_impact(demo: tuple[str, str, str]) -> None:
    url, user, password = demo
    with chromium() as browser:
        page = browser.new_page()
        page.goto(url + "dampak")
        page.get_by_label("Nama pengguna").fill(user)
        page.get_by_label("Kata sandi").fill(password)
        page.get_by_role("button", name="Masuk").click()
        heading = page.get_by_role("heading", level=1)
        expect(heading).to_have_text(re.compile(r"^Dampak: \w+ \d{4}$"))
        table = page.locator("#city-table")
        expect(table.locator("tbody tr")).to_have_count(16)
        # every puskesmas has tickets from the history (the first day of a month aside)
        tickets = [int(t) for t in table.locator("tbody tr td:nth-child(2)").all_inner_texts()
                   if t.isdigit()]
        assert len(tickets) == 16 or page.locator("#f-month").input_value().endswith("-01")
        expect(page.locator("#chart-city canvas")).to_have_count(1)
        page.get_by_text("Tabel tren Kota Malang").click()
        expect(page.get_by_role("table", name=re.compile("Kota Malang per minggu"))).to_be_visible()
        assert axe_violations(page) == []
        browser.close()
