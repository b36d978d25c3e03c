"""The monthly impact report for Dinas Kesehatan Kota Malang: PDF (reportlab) and CSV.

Both come from one ``ncc.impact.Report`` and show only what ``ncc.impact.shown`` allows
(counts under 5 as "< 5"). Words are Bahasa Indonesia; the CSV uses a decimal point so
that spreadsheets and scripts read it as numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ncc import impact
from ncc.impact import FIELDS, WIB, Event, Figures, Period, Report, SiteInfo
from ncc.store import Store

BULAN = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
         "September", "Oktober", "November", "Desember")
CITY = "kota"
CITY_NAME = "Kota Malang (semua puskesmas)"

DEFINITIONS: tuple[tuple[str, str], ...] = (
    ("Tiket seluruhnya", "Semua tiket yang diambil pada hari-hari periode ini, dari kios "
     "mana pun atau dari petugas."),
    ("Tiket kios Braille", "Tiket dengan tanda dibantu (assisted) yang dicetak oleh kios "
     "Braille sendiri: pasien tunanetra yang mengambil tiket tanpa petugas. Porsinya: "
     "dibagi tiket seluruhnya."),
    ("Kemandirian", "Bagian pasien kios Braille yang dari tiket sampai selesai dilayani "
     "tidak meminta bantuan (tombol bantuan di kios) dan tidak dibuatkan tiket dibantu oleh "
     "petugas selama kunjungannya. Permintaan bantuan dan tiket petugas dihitung untuk "
     "pasien kios Braille yang paling akhir mengambil tiket dan belum selesai. Pasien yang "
     "tidak hadir saat dipanggil, atau yang tiketnya belum selesai ketika antrean direset "
     "tengah malam, tidak dihitung mandiri."),
    ("Mandiri dan mendapat etiket Braille", "Hanya di puskesmas dengan node farmasi: etiket "
     "obat Braille (timbul) yang dicetak, paling banyak sejumlah pasien mandiri, dibagi "
     "pasien kios Braille. Etiket tidak membawa nomor tiket (demi privasi), jadi ini batas "
     "atas."),
    ("Waktu tunggu", "Dari tiket diambil sampai dipanggil; untuk tiket yang dipindah ke "
     "layanan lain, ditambah waktu menunggu di layanan berikutnya. Median dan persentil "
     "ke-90 (p90, peringkat terdekat), dalam menit, untuk pasien dibantu dan lainnya."),
    ("Waktu layanan", "Dari dipanggil sampai selesai di loket (dijumlah bila dipindah), "
     "hanya tiket yang selesai dilayani. Median dan p90 dalam menit."),
    ("Tidak hadir", "Tiket yang dilewati (skip) karena pasien tidak datang saat dipanggil."),
    ("Panggilan ulang", "Berapa kali petugas memanggil ulang sebuah tiket."),
    ("Ketersediaan kios", "Bagian jam buka (Senin-Sabtu 07.00-14.00 WIB, hanya hari yang "
     "mempunyai kejadian dari puskesmas itu, jadi hari libur tidak dihitung) ketika jalur "
     "kios (tombol, pengeras suara, embosser, printer, sel Braille, penyimpanan) di semua "
     "kios puskesmas bekerja, menurut kejadian gangguan dan pulih perangkat. Kios yang "
     "luring tetap bekerja dan mengirim kejadiannya kemudian."),
    ("Gangguan yang mengenai pasien", "Gangguan jalur kios ketika setidaknya satu pasien "
     "mengambil tiket (tekanan tombol dijawab dengan pemberitahuan gangguan); pasien terkena "
     "gangguan: jumlah tiket itu."),
    ("Permintaan bantuan", "Tekanan tombol bantuan. Dijawab: ada tindakan petugas berikutnya "
     "di puskesmas itu (memanggil, memanggil ulang, melewati, menyelesaikan, memindah, atau "
     "membuat tiket); waktu jawab: sampai tindakan itu."),
    ("Privasi", "Jumlah 1 sampai 4 ditulis \"< 5\"; persentase dan waktu dari kurang dari 5 "
     "pasien tidak ditampilkan (\"—\"), agar tidak ada pasien yang dapat dikenali."),
    ("Sumber", "Semua angka dihitung hanya dari kejadian yang tersimpan di NCC, menurut waktu "
     "node mencatatnya; laporan sebuah bulan yang sudah lewat selalu sama."),
)


def sites_of(fleet: Any) -> list[SiteInfo]:
    return [SiteInfo.from_fleet(s) for s in fleet.sites]


def load(store: Store, sites: Sequence[SiteInfo], period: Period, *, trend: str = "day",
         until: datetime | None = None) -> Report:
    rows = store.period_events(period.first.isoformat(), period.last.isoformat())
    return impact.report(sites, [Event.from_row(r) for r in rows], period, trend=trend,
                         until=until)


def month_title(period: Period) -> str:
    return f"{BULAN[period.first.month - 1]} {period.first.year}"


def data_period(r: Report) -> str:
    p = r.period
    text = f"{p.first:%d-%m-%Y} s.d. {p.last:%d-%m-%Y}"
    if r.first_event is None or r.last_event is None:
        return text + "; tidak ada kejadian tersimpan."
    a, b = (t.astimezone(WIB) for t in (r.first_event, r.last_event))
    return text + f"; kejadian pertama {a:%d-%m-%Y %H.%M}, terakhir {b:%d-%m-%Y %H.%M} WIB."


# --- CSV ----------------------------------------------------------------------------------
def csv_rows(r: Report) -> list[list[str]]:
    """Header, then a row per site and the city for the month, then per week."""
    header = ["periode", "puskesmas", "nama"] + [f"{f.label} ({f.unit})" for f in FIELDS]
    out = [header]
    weekly = {s.site.id: s.trend for s in r.sites}
    for label, site, name, fig, trend in (
            [(r.period.label, s.site.id, s.site.name, s.figures, weekly[s.site.id])
             for s in r.sites] + [(r.period.label, CITY, CITY_NAME, r.city, r.city_trend)]):
        out.append(_row(label, site, name, fig))
        out += [_row(p.label, site, name, f) for p, f in trend]
    return out


def _row(period: str, site: str, name: str, f: Figures) -> list[str]:
    shown = impact.shown(f)
    return [period, site, name] + ["" if shown[x.key] is None else str(shown[x.key])
                                   for x in FIELDS]


def write_csv(r: Report, path: Path, only: str | None = None) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(
        row for row in csv_rows(r) if only is None or row[1] in (only, CITY, "puskesmas"))
    path.write_text(buf.getvalue(), encoding="utf-8")


# --- PDF ----------------------------------------------------------------------------------
CITY_COLUMNS = ("tickets", "braille", "independence", "wait_median_assisted",
                "wait_median_others", "availability", "helps")
CITY_HEADS = ("Puskesmas", "Tiket", "Kios Braille", "Mandiri %", "Tunggu dibantu (mnt)",
              "Tunggu lainnya (mnt)", "Kios tersedia %", "Bantuan")


def write_pdf(r: Report, path: Path, only: str | None = None) -> None:
    """Summary and city table, a page per puskesmas (only ``only``'s), the definitions."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import (
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    styles = getSampleStyleSheet()
    grid = TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                       ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e5e7eb")),
                       ("FONTSIZE", (0, 0), (-1, -1), 8), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                       ("ALIGN", (1, 1), (-1, -1), "RIGHT")])
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)

    def para(text: str, style: str = "BodyText") -> Paragraph:
        return Paragraph(_escape(text), styles[style])

    title = f"Laporan dampak BREXIT, {month_title(r.period)}"
    story: list[Any] = [
        para(title, "Title"),
        para("Untuk Dinas Kesehatan Kota Malang. Antrean yang dapat digunakan pasien "
             "tunanetra secara mandiri: kios Braille, pemanggil, etiket obat Braille."),
        para(f"Periode data: {data_period(r)}"),
        Spacer(1, 0.3 * cm), para("Ringkasan kota", "Heading2"),
        _figure_table(r.city, grid, small),
        PageBreak(), para("Tabel kota: semua puskesmas", "Heading2"),
    ]
    rows = [[Paragraph(f"<b>{h}</b>", small) for h in CITY_HEADS]] + [
        [Paragraph(_escape(s.site.name), small)] + [impact.text(impact.shown(s.figures)[k])
                                                   for k in CITY_COLUMNS]
        for s in r.sites] + [[Paragraph("<b>Kota Malang</b>", small)] + [
            impact.text(impact.shown(r.city)[k]) for k in CITY_COLUMNS]]
    story += [Table(rows, colWidths=[5.2 * cm] + [1.8 * cm] * 7, repeatRows=1, style=grid)]
    for s in r.sites:
        if only is not None and s.site.id != only:
            continue
        story += [PageBreak(), para(f"{s.site.name} ({s.site.id})", "Heading2"),
                  para(f"{month_title(r.period)}; periode data: {data_period(r)}"),
                  _figure_table(s.figures, grid, small), Spacer(1, 0.3 * cm),
                  para("Per minggu", "Heading3"), _trend_table(s.trend, grid)]
    story += [PageBreak(), para("Definisi setiap angka", "Heading2")]
    for name, text in DEFINITIONS:
        story.append(Paragraph(f"<b>{_escape(name)}</b>: {_escape(text)}", styles["BodyText"]))
    doc = SimpleDocTemplate(str(path), pagesize=A4, title=title, author="NCC BREXIT",
                            leftMargin=1.5 * cm, rightMargin=1.5 * cm, topMargin=1.5 * cm,
                            bottomMargin=1.5 * cm, invariant=1)
    doc.build(story)


def _figure_table(f: Figures, grid: Any, style: Any) -> Any:
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, Table

    shown = impact.shown(f)
    rows = [["Angka", "Nilai", "Satuan"]] + [
        [Paragraph(_escape(x.label), style), impact.text(shown[x.key]), x.unit]
        for x in FIELDS]
    return Table(rows, colWidths=[9 * cm, 3 * cm, 3 * cm], repeatRows=1, style=grid)


def _trend_table(trend: Sequence[tuple[Period, Figures]], grid: Any) -> Any:
    from reportlab.platypus import Table

    rows = [["Minggu", "Hari", "Tiket", "Kios Braille", "Mandiri %", "Kios tersedia %"]]
    for p, f in trend:
        shown = impact.shown(f)
        rows.append([p.label, f"{p.first:%d-%m} s.d. {p.last:%d-%m}"] + [
            impact.text(shown[k]) for k in ("tickets", "braille", "independence",
                                            "availability")])
    return Table(rows, repeatRows=1, style=grid)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- brexit ncc report ------------------------------------------------------------------------
class ReportError(ValueError):
    """The report cannot be made; one line naming the option."""


def run(store_path: Path, fleet: Any, month: str, out: Path, site: str | None = None,
        now: datetime | None = None) -> str:
    """Write the month's report as PDF or CSV (by ``out``'s suffix); a line saying what."""
    kind = out.suffix.lower()
    if kind not in (".pdf", ".csv"):
        raise ReportError(f"--out: {out} must end in .pdf or .csv")
    period = impact.month(month)
    sites = sites_of(fleet)
    if site is not None and site not in {s.id for s in sites}:
        raise ReportError(f"--site: no puskesmas {site!r} in the fleet inventory")
    if not store_path.is_file():
        raise ReportError(f"store.path: no NCC database at {store_path}")
    if not out.parent.is_dir():
        raise ReportError(f"--out: no directory {out.parent}")
    from ncc.store import SqliteStore

    store = SqliteStore(store_path)
    try:
        r = load(store, sites, period, trend="week", until=now or datetime.now(WIB))
    finally:
        store.close()
    (write_pdf if kind == ".pdf" else write_csv)(r, out, site)
    return f"{out}: impact report {period.label}" + (f" for {site}" if site else "")
