"""`brexit ncc demo` in a real browser: the 16 puskesmas of Kota Malang appear, their
numbers change live without a reload, and every page of the demo passes axe-core."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import chromium
from playwright.sync_api import expect
from test_ncc_browser_dashboard import axe_violations

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    data = tmp_path_factory.mktemp("demo")
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "ncc", "demo", "--listen", "127.0.0.1:0",
         "--data", str(data), "--seed", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
    assert proc.stdout is not None
    url = login = ""
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if m := re.match(r"dashboard: (\S+)", line):
            url = m.group(1)
        if m := re.match(r"login: (\S+ \S+)", line):
            login = m.group(1)
        if url and login:
            break
    try:
        assert url and login, "".join(seen)
        user, password = login.split()
        yield url, user, password
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0


def test_the_demo_shows_16_puskesmas_live(demo: tuple[str, str, str]) -> None:
    url, user, password = demo
    with chromium() as browser:
        page = browser.new_page()
        page.goto(url)
        page.get_by_label("Nama pengguna").fill(user)
        page.get_by_label("Kata sandi").fill(password)
        page.get_by_role("button", name="Masuk").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Ringkasan armada")
        tiles = page.locator("ul.tiles > li")
        expect(tiles).to_have_count(16)
        expect(page.get_by_role("link", name="UPT Puskesmas Janti")).to_be_visible()
        expect(page.locator("#stream-state")).to_have_text("tersambung")
        page.evaluate("window.stayed = true")
        before = page.locator("dd[data-f=served_today]").all_text_contents()
        # the simulated counters serve patients: some tile's number changes by itself
        expect(page.locator("dd[data-f=served_today]")).not_to_have_text(before,
                                                                          timeout=90_000)
        assert page.evaluate("window.stayed") is True
        for path in ("/", "/nodes", "/sites/janti", "/alarms?state=all"):
            page.goto(url.rstrip("/") + path)
            expect(page.locator("#stream-state")).to_have_text("tersambung")
            assert axe_violations(page) == [], path
        page.goto(url.rstrip("/") + "/nodes?site=janti")
        page.locator("tbody[data-rows=nodes] th a").first.click()
        expect(page.get_by_role("heading", name="Perangkat")).to_be_visible()
        assert axe_violations(page) == []
        browser.close()
