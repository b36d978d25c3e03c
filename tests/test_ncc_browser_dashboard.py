"""The NCC dashboard in a real browser (Debian's chromium driven by Playwright): log in,
watch a node go luring live, acknowledge an alarm from the keyboard, send a selftest and
read the node's reply, and let axe-core check every page (serious or critical fails)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
from brokers import wait_until
from ncc_web_env import NODE, PASSWORD, SITE, Ncc, start_ncc, stop_ncc
from playwright.sync_api import Browser, Page, expect

AXE = resources.files("ncc.web").joinpath("static", "vendor", "axe.min.js").read_text("utf-8")
# Generous: the machine is shared; a wait ends as soon as the page shows the expected state.
expect.set_options(timeout=30_000)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@pytest.fixture(scope="module")
def ncc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ncc]:
    env = start_ncc(tmp_path_factory.mktemp("ncc-browser"))
    try:
        yield env
    finally:
        stop_ncc(env)


@pytest.fixture
def page(browser: Browser, ncc: Ncc) -> Iterator[Page]:
    context = browser.new_context(base_url=ncc.web.url.rstrip("/"), locale="id-ID")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield pg
    finally:
        context.close()
    assert not errors, errors


def log_in(page: Page, user: str = "sari") -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    page.get_by_label("Nama pengguna").fill(user)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ringkasan armada")


def wait_live(page: Page) -> None:
    expect(page.locator("#stream-state")).to_have_text("tersambung")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    page.evaluate(AXE)
    found: list[dict[str, Any]] = page.evaluate(
        """async (tags) => (await axe.run(document, {runOnly: {type: "tag", values: tags}}))
             .violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                   nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}))""",
        AXE_TAGS)
    return [v for v in found if v["impact"] in ("serious", "critical")]


def test_a_wrong_password_is_said_and_no_page_opens(page: Page) -> None:
    page.goto("/alarms")
    page.get_by_label("Nama pengguna").fill("sari")
    page.get_by_label("Kata sandi").fill("bukan-itu-sandinya")
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("alert")).to_have_text("Nama pengguna atau kata sandi salah.")
    assert axe_violations(page) == []


PAGES = ["/", "/nodes", f"/sites/{SITE}", f"/nodes/{SITE}/{NODE}", "/alarms", "/audit",
         "/nodes?sort=-last_seen&state=online"]


def test_every_page_passes_axe(page: Page) -> None:
    log_in(page)
    for path in PAGES:
        page.goto(path)
        wait_live(page)
        assert axe_violations(page) == [], path
    page.goto("/login")
    assert axe_violations(page) == []


def test_the_axe_check_finds_a_broken_page(page: Page) -> None:
    log_in(page)
    page.evaluate("""() => { const b = document.createElement("button");
                             document.querySelector("main").append(b); }""")
    assert [v["id"] for v in axe_violations(page)] == ["button-name"]


def test_keyboard_first_stop_skips_to_the_content(page: Page) -> None:
    log_in(page)
    page.goto("/alarms")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Langsung ke isi"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "isi"
    page.keyboard.press("Tab")  # the next stop is inside the content, not the menu
    assert page.evaluate("document.activeElement.closest('main') !== null") is True


def test_viewer_sees_no_operator_controls(page: Page) -> None:
    log_in(page, "budi")
    page.goto(f"/nodes/{SITE}/{NODE}")
    expect(page.get_by_text("Hanya operator yang dapat mengirim perintah")).to_be_visible()
    expect(page.get_by_role("button", name="Kirim perintah")).to_have_count(0)


def test_selftest_from_the_node_page_shows_the_reply(page: Page, ncc: Ncc) -> None:
    before = ncc.selftests_done()
    log_in(page)
    page.goto(f"/nodes/{SITE}/{NODE}")
    wait_live(page)
    page.evaluate("window.stayed = true")
    page.get_by_role("radio", name="Uji mandiri").check()
    page.get_by_role("button", name="Kirim perintah").click()
    reply = page.locator("form.command [role=status]")
    expect(reply).to_have_text(re.compile(r"^Uji mandiri: berhasil\."), timeout=20_000)
    assert page.evaluate("window.stayed") is True  # no reload
    ncc.wait_selftest(before)  # it ends (buttons unanswered: skipped) before the next test


def test_acknowledge_an_alarm_from_the_keyboard(page: Page, ncc: Ncc) -> None:
    log_in(page)
    page.goto("/alarms")
    wait_live(page)
    page.evaluate("window.stayed = true")
    ncc.node.send("fault printer paper_out", "press A")
    alarm = ncc.open_alarm("printer")
    row = page.locator(f'tbody[data-rows=alarms] tr[data-key="{alarm["id"]}"]')
    expect(row).to_contain_text("Printer bermasalah")  # arrived live
    expect(row).to_contain_text("kertas habis")
    expect(page.locator("#live")).to_contain_text("Alarm baru: Printer bermasalah")
    button = row.get_by_role("button", name=f"Akui alarm Printer bermasalah di {SITE}/{NODE}")
    button.focus()
    page.keyboard.press("Enter")
    expect(row).to_contain_text("diakui")
    expect(row).to_contain_text("sari")
    expect(page.locator("#live")).to_contain_text(f"Alarm #{alarm['id']} diakui.")
    assert page.evaluate("window.stayed") is True
    assert [a["state"] for a in ncc.monitor.alarms(site=SITE) if a["id"] == alarm["id"]] == [
        "acked"]
    ncc.node.send("fault printer ok", "press A")


def test_health_chart_has_a_table_behind_it(page: Page) -> None:
    log_in(page)
    page.goto(f"/nodes/{SITE}/{NODE}")
    expect(page.locator("#chart canvas")).to_have_count(1)
    expect(page.get_by_role("img", name=re.compile("Grafik suhu CPU"))).to_be_visible()
    page.get_by_text("Tabel riwayat kesehatan").click()
    expect(page.get_by_role("table", name="Riwayat kesehatan node")).to_be_visible()


def test_sorting_by_last_seen_is_announced(page: Page) -> None:
    log_in(page)
    page.goto(f"/sites/{SITE}")
    header = page.get_by_role("columnheader", name="Terakhir terlihat")
    header.get_by_role("button").click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    header.get_by_role("button").click()
    expect(header).to_have_attribute("aria-sort", "descending")
    first = page.locator("tbody[data-rows=site-nodes] tr").first
    expect(first).to_have_attribute("data-key", f"{SITE}/{NODE}")  # the only node seen
    expect(page.locator("#live")).to_contain_text("menurun")


def test_a_node_goes_luring_live_without_reload(page: Page, ncc: Ncc) -> None:
    """Last in this file: the node is killed."""
    log_in(page)
    page.goto(f"/sites/{SITE}")
    wait_live(page)
    page.evaluate("window.stayed = true")
    row = page.locator(f'tr[data-key="{SITE}/{NODE}"]')
    expect(row.locator("[data-f=state]")).to_have_text("● daring")
    ncc.node.kill()  # the broker sends its Will
    wait_until(lambda: ncc.monitor.node_state_of(SITE, NODE) == "offline", "the node offline")
    expect(row.locator("[data-f=state]")).to_have_text("○ luring")
    expect(page.locator("#live")).to_contain_text(f"Node {SITE}/{NODE} sekarang luring.")
    assert page.evaluate("window.stayed") is True
    page.goto("/")
    tile = page.locator(f'li[data-site="{SITE}"]')
    expect(tile.locator("[data-f=online]")).to_have_text("0")
