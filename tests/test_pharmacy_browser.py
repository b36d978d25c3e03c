"""The pharmacy form in a real browser (Debian's chromium driven by Playwright): a
pharmacist logs in, fills a label, and the emulated embosser and printer receive it
(decoded back to text by their emulators); the API and the message form beside it."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from edge.braille.codec import decode
from edge.config import load_config
from edge.node import Node
from edge.pharmacy.serve import DEMO_PASSWORD, DEMO_USER, serve_form, users_db
from edge.pharmacy.web import PharmacyWeb
from edge.simulation import Simulation
from ncc.auth import Auth, Role

EXAMPLE = Path(__file__).parent.parent / "deploy" / "examples" / "janti-farmasi-1.toml"
AXE = resources.files("ncc.web").joinpath("static", "vendor", "axe.min.js").read_text("utf-8")
expect.set_options(timeout=30_000)  # generous: a shared machine; waits end when seen


@dataclass
class Farmasi:
    node: Node
    sim: Simulation
    web: PharmacyWeb
    data: Path


@pytest.fixture
def farmasi(tmp_path: Path) -> Iterator[Farmasi]:
    config = load_config(EXAMPLE)
    sim = Simulation(config, tmp_path)
    node = Node(config, tmp_path, sim.hardware()).start()
    web, _ = serve_form(node, tmp_path, ("127.0.0.1", 0), simulate=True)
    try:
        yield Farmasi(node, sim, web, tmp_path)
    finally:
        web.close()
        node.stop()
        sim.close()


@pytest.fixture
def page(browser: Browser, farmasi: Farmasi) -> Iterator[Page]:
    context = browser.new_context(base_url=farmasi.web.url.rstrip("/"), locale="id-ID")
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


def log_in(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.get_by_label("Nama pengguna").fill(DEMO_USER)
    page.get_by_label("Kata sandi").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Etiket obat Braille")


def serious_axe_violations(page: Page) -> list[dict[str, Any]]:
    page.evaluate(AXE)
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document)).violations.map(
             v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))""")
    return [v for v in found if v["impact"] in ("serious", "critical")]


def test_a_pharmacist_fills_a_label_and_it_is_embossed_and_printed(
        page: Page, farmasi: Farmasi) -> None:
    log_in(page)
    assert serious_axe_violations(page) == []
    page.get_by_label("Nama pasien").fill("Siti Aminah")
    page.get_by_label("Umur (tahun)").fill("67")
    page.get_by_label("Nama obat").fill("Amlodipin")
    page.get_by_label("Kekuatan (mis. 500 mg)").fill("5 mg")
    page.get_by_label("Bentuk sediaan").fill("tablet")
    page.get_by_label("Aturan pakai (mis. 3 x sehari 1 tablet)").fill("1 x sehari 1 tablet")
    page.get_by_label("pagi", exact=True).check()
    page.get_by_label("sesudah makan").check()
    page.get_by_label("Kegunaan (mis. demam)").fill("darah tinggi")
    page.get_by_label("Kedaluwarsa / BUD (TTTT-BB atau TTTT-BB-HH)").fill("2099-06")
    page.get_by_label("Dapat menyebabkan kantuk").check()
    page.get_by_role("button", name="Buat etiket").click()
    status = page.get_by_role("status")
    expect(status).to_contain_text(re.compile(
        r"Etiket \d{6}-001: dicetak Braille, dicetak tinta dengan kode QR, diucapkan\."))
    expect(status).to_contain_text("amlodipin 5 mg")
    assert farmasi.sim.embosser is not None and farmasi.sim.printer is not None
    [embossed] = farmasi.sim.embosser.wait_for_jobs(1, timeout=30)
    assert embossed.text == ("amlodipin 5 mg", "1 x 1 tablet", "pagi sesudah makan",
                             "ed 06-2099")
    [printed] = farmasi.sim.printer.wait_for_jobs(1, timeout=30)
    qr = printed.qr_payloads[0].splitlines()
    assert "Pasien: Siti Aminah (67 th)" in qr and "Apoteker: apoteker" in qr
    assert "DAPAT MENYEBABKAN KANTUK" in printed.text_lines
    # kept for reprint, listed on the page
    page.get_by_role("button", name=re.compile(r"Cetak ulang \d{6}-001")).click()
    expect(page.get_by_role("status")).to_contain_text("dicetak Braille")
    assert len(farmasi.sim.embosser.wait_for_jobs(2, timeout=30)) == 2


def test_a_label_without_dose_names_the_field_and_keeps_what_was_typed(
        page: Page, farmasi: Farmasi) -> None:
    log_in(page)
    page.get_by_label("Nama obat").fill("Parasetamol")
    page.get_by_label("Kedaluwarsa / BUD (TTTT-BB atau TTTT-BB-HH)").fill("2001-01")
    page.get_by_role("button", name="Buat etiket").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Aturan pakai (mis. 3 x sehari 1 tablet): aturan pakai "
                                  "wajib diisi")
    dose = page.get_by_label("Aturan pakai (mis. 3 x sehari 1 tablet)")
    expect(dose).to_have_attribute("aria-invalid", "true")
    expect(dose).to_be_focused()
    expect(page.get_by_label("Nama obat")).to_have_value("Parasetamol")
    dose.fill("3 x sehari 1 tablet")
    page.get_by_role("button", name="Buat etiket").click()
    expect(page.get_by_role("alert")).to_contain_text("tanggal kedaluwarsa 2001-01 sudah lewat")
    expect(page.get_by_label("Kedaluwarsa / BUD (TTTT-BB atau TTTT-BB-HH)")).to_be_focused()
    assert farmasi.sim.embosser is not None and farmasi.sim.embosser.jobs == []


def test_wrong_password_and_logging_out(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("Nama pengguna").fill(DEMO_USER)
    page.get_by_label("Kata sandi").fill("salah-sekali")
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("alert")).to_have_text("Nama pengguna atau kata sandi salah.")
    log_in(page)
    page.get_by_role("button", name=f"Keluar ({DEMO_USER})").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_the_message_form_puts_a_question_on_the_cells(page: Page, farmasi: Farmasi) -> None:
    log_in(page)
    page.get_by_label("Pesan cepat").select_option("Mohon tunjukkan kartu BPJS")
    page.get_by_role("button", name="Kirim pesan").click()
    expect(page.get_by_role("status")).to_contain_text("Pesan tampil di sel Braille")
    assert farmasi.sim.cells is not None and farmasi.node.aid is not None
    question = farmasi.node.aid.question
    assert question is not None and question.text == "Mohon tunjukkan kartu BPJS: Ya Tidak Ulangi"
    cells = farmasi.sim.cells
    deadline = time.monotonic() + 30  # a guard against a hang, not a measured limit
    while decode(cells.dots()).strip() != "Mohon":  # the first of its pages on 12 cells
        assert time.monotonic() < deadline, decode(cells.dots())
        time.sleep(0.02)


# --- POST /api/v1/labels -------------------------------------------------------------
def api(farmasi: Farmasi, body: Any, token: str | None, content_type: str = "application/json"
        ) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(farmasi.web.url + "api/v1/labels", data=data,
                                     headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_the_api_makes_labels_for_a_pharmacist_token(farmasi: Farmasi) -> None:
    token = Auth(users_db(farmasi.data)).add_token("rina", Role.OPERATOR)
    status, made = api(farmasi, {"drug": "Ibuprofen", "strength": "400 mg",
                                 "dose": "3 x sehari 1 tablet", "patient": "Dewi"}, token)
    assert status == 201
    assert made["braille"] == ["ibuprofen 400 mg", "3 x sehari 1", "tablet"]  # room to wrap
    assert made["outputs"] == ["embosser", "printer", "speech"]
    assert farmasi.sim.embosser is not None
    assert farmasi.sim.embosser.wait_for_jobs(1, timeout=30)[0].text == tuple(made["braille"])
    assert api(farmasi, {"dose": "1 x"}, token) == (
        400, {"error": "nama obat wajib diisi", "field": "drug"})
    assert api(farmasi, b"{nope", token)[0] == 400
    assert api(farmasi, {"drug": "x", "dose": "1"}, token, "text/plain")[0] == 415
    assert api(farmasi, {"drug": "x", "dose": "1"}, None)[0] == 401
    assert api(farmasi, {"drug": "x", "dose": "1"}, "ncc_wrong")[0] == 401
    viewer = Auth(users_db(farmasi.data)).add_token("tamu", Role.VIEWER)
    assert api(farmasi, {"drug": "x", "dose": "1"}, viewer)[0] == 401
    assert len(farmasi.sim.embosser.jobs) == 1


def test_what_was_typed_comes_back_escaped(page: Page, farmasi: Farmasi) -> None:
    log_in(page)
    page.get_by_label("Nama obat").fill("Parasetamol")
    page.get_by_label("Aturan pakai (mis. 3 x sehari 1 tablet)").fill("1 x")
    page.get_by_label("Kedaluwarsa / BUD (TTTT-BB atau TTTT-BB-HH)").fill("<b>x</b>")
    page.get_by_role("button", name="Buat etiket").click()
    expect(page.get_by_role("alert")).to_contain_text("'<b>x</b>' bukan tanggal")
    assert page.locator("b").count() == 0
    csrf = page.locator("input[name=csrf]").first.input_value()
    answer = page.request.post(farmasi.web.url + "reprint",
                               form={"csrf": csrf, "number": "<i>R-1</i>"})
    assert answer.status == 400 and "&lt;i&gt;R-1&lt;/i&gt;" in answer.text()
    assert page.request.post(farmasi.web.url + "labels", form={"drug": "x"}).status == 403
