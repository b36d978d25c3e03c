"""``brexit ncc report``: the month's PDF and CSV from a store holding a generated month
with known answers; the PDF is turned into images (pdftoppm) and text (pdftotext), the
CSV's numbers are read back."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from impact_month import arjuno, fill, janti

from ncc.store import SqliteStore

ROOT = Path(__file__).resolve().parents[1]
needs_poppler = pytest.mark.skipif(shutil.which("pdftoppm") is None,
                                   reason="poppler-utils (./setup.sh --dev) installs pdftoppm")


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    store = SqliteStore(tmp / "ncc.db")
    fill(store, janti(), arjuno())
    store.close()
    path = tmp / "ncc.toml"
    fleet = ROOT / "deploy/fleet.toml"
    path.write_text("[mqtt]\nallow_anonymous = true\n[store]\npath = 'ncc.db'\n"
                    f"[fleet]\npath = '{fleet}'\n", encoding="utf-8")
    return path


def brexit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge.cli", "ncc", "report", *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


def read_csv(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return {(r["periode"], r["puskesmas"]): r for r in csv.DictReader(f)}


def test_the_csv_holds_the_known_numbers(config: Path) -> None:
    out = config.parent / "nov.csv"
    done = brexit("--month", "2026-11", "--out", str(out), "--config", str(config))
    assert done.returncode == 0, done.stderr
    rows = read_csv(out)
    j = rows[("2026-11", "janti")]
    assert j["nama"] == "UPT Puskesmas Janti"
    assert (j["Tiket seluruhnya (tiket)"], j["Tiket kios Braille (tiket)"]) == ("24", "14")
    assert (j["Pasien kios Braille mandiri (pasien)"], j["Kemandirian (%)"]) == ("10", "71.4")
    assert j["Tunggu, median, dibantu (menit)"] == "10.0"
    assert j["Tunggu, p90, dibantu (menit)"] == "25.0"
    assert j["Tunggu, median, lainnya (menit)"] == "20.0"
    assert j["Ketersediaan kios (%)"] == "96.4"
    assert j["Permintaan bantuan (permintaan)"] == "< 5"
    assert j["Mandiri dan mendapat etiket Braille (%)"] == ""  # 3 labels: not shown
    city = rows[("2026-11", "kota")]
    assert (city["Tiket seluruhnya (tiket)"], city["Tiket kios Braille (tiket)"]) == ("34", "19")
    assert city["Kemandirian (%)"] == "78.9"  # 15 of 19
    assert len([k for k in rows if k[0] == "2026-11"]) == 17  # 16 puskesmas and the city
    assert rows[("2026-W45", "janti")]["Tiket seluruhnya (tiket)"] == "24"
    assert rows[("2026-W46", "janti")]["Tiket seluruhnya (tiket)"] == "0"


def test_one_site_only(config: Path) -> None:
    out = config.parent / "janti.csv"
    assert brexit("--month", "2026-11", "--site", "janti", "--out", str(out),
                  "--config", str(config)).returncode == 0
    assert {site for _, site in read_csv(out)} == {"janti", "kota"}


def pdf_text(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    return text.split("\f")


@needs_poppler
def test_the_pdf_has_a_page_per_puskesmas_the_city_table_and_definitions(config: Path) -> None:
    out = config.parent / "nov.pdf"
    done = brexit("--month", "2026-11", "--out", str(out), "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert "impact report 2026-11" in done.stdout
    pages = [p for p in pdf_text(out) if p.strip()]
    assert "Laporan dampak BREXIT, November 2026" in pages[0]
    assert "Dinas Kesehatan Kota Malang" in pages[0]
    assert "01-11-2026 s.d. 30-11-2026" in pages[0]
    table = pages[1]
    assert "Tabel kota" in table and all(
        name in table for name in ("UPT Puskesmas Janti", "Kota Malang"))
    janti_page = next(p for p in pages if "UPT Puskesmas Janti (janti)" in p)
    assert re.search(r"Kemandirian +71,4", janti_page)
    assert re.search(r"Permintaan bantuan +< ?5", janti_page)  # pdftotext may drop the space
    assert re.search(r"2026-W45 +02-11 s\.d\. 08-11 +24 +14", janti_page)
    assert len([p for p in pages if "Per minggu" in p]) == 16
    assert "Definisi setiap angka" in pages[-1] and "Kemandirian" in pages[-1]
    images = config.parent / "png"
    images.mkdir()
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(out), str(images / "p")], check=True)
    pngs = sorted(images.glob("p-*.png"))
    assert len(pngs) == len(pages)
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 2000
               for p in pngs)


@needs_poppler
def test_a_past_month_gives_the_same_report_again(config: Path) -> None:
    a, b = config.parent / "a.pdf", config.parent / "b.pdf"
    for out in (a, b):
        assert brexit("--month", "2026-11", "--out", str(out), "--config",
                      str(config)).returncode == 0
    assert pdf_text(a) == pdf_text(b)


@pytest.mark.parametrize(("args", "message"), [
    (["--month", "2026-13", "--out", "x.pdf"], "month: '2026-13' is not YYYY-MM"),
    (["--month", "2026-11", "--out", "x.txt"], "--out: x.txt must end in .pdf or .csv"),
    (["--month", "2026-11", "--site", "nowhere", "--out", "x.csv"], "--site: no puskesmas"),
    (["--month", "2026-11", "--out", "/no/such/dir/x.csv"], "--out: no directory"),
])
def test_bad_input_is_one_line_and_status_2(config: Path, args: list[str], message: str
                                            ) -> None:
    done = brexit(*args, "--config", str(config))
    assert done.returncode == 2 and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_no_database_is_one_line(tmp_path: Path) -> None:
    conf = tmp_path / "ncc.toml"
    conf.write_text("[mqtt]\nallow_anonymous = true\n[store]\npath = 'none.db'\n",
                    encoding="utf-8")
    done = brexit("--month", "2026-11", "--out", str(tmp_path / "x.csv"), "--config", str(conf))
    assert done.returncode == 2 and "store.path: no NCC database" in done.stderr


@needs_poppler
def test_one_site_pdf_has_its_page_and_the_city_table(config: Path) -> None:
    out = config.parent / "janti.pdf"
    assert brexit("--month", "2026-11", "--site", "janti", "--out", str(out),
                  "--config", str(config)).returncode == 0
    pages = [p for p in pdf_text(out) if p.strip()]
    assert [p.splitlines()[0].strip() for p in pages if "Per minggu" in p] == [
        "UPT Puskesmas Janti (janti)"]
    assert "Tabel kota" in pages[1] and "UPT Puskesmas Arjuno" in pages[1]
