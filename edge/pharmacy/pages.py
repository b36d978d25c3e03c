"""The pharmacy form's pages: server-rendered HTML in Bahasa Indonesia, no script.

Keyboard-first: every field has a visible label, the tab order is the etiket's order, an
error summary (``role="alert"``) names the field and links to it, and the field at fault
is marked ``aria-invalid`` and gets the focus.

>>> "Nama pengguna" in login_page(error=None)
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from edge.braille.codec import text_to_unicode
from edge.pharmacy.label import WHEN_WORDS, Warning

TITLE = "Etiket obat Braille"
CAPTIONS = {
    "number": "Nomor etiket (kosong: otomatis)", "patient": "Nama pasien", "age": "Umur (tahun)",
    "drug": "Nama obat", "strength": "Kekuatan (mis. 500 mg)", "form": "Bentuk sediaan",
    "quantity": "Jumlah", "dose": "Aturan pakai (mis. 3 x sehari 1 tablet)",
    "when": "Waktu minum", "purpose": "Kegunaan (mis. demam)",
    "expiry": "Kedaluwarsa / BUD (TTTT-BB atau TTTT-BB-HH)", "storage": "Penyimpanan",
    "warnings": "Peringatan", "external": "Obat luar (etiket biru)", "pharmacist": "Apoteker",
    "label": "Etiket", "width": "Lebar label",
}
WARNING_CAPTIONS = {Warning.HABISKAN: "HABISKAN (antibiotik)",
                    Warning.KOCOK_DAHULU: "KOCOK DAHULU (suspensi)",
                    Warning.OBAT_LUAR: "OBAT LUAR",
                    Warning.MENGANTUK: "Dapat menyebabkan kantuk"}
TEXT_FIELDS = ("number", "patient", "age", "drug", "strength", "form", "quantity", "dose",
               "purpose", "expiry", "storage")
REQUIRED = ("drug", "dose")

CSS = """
body{font-family:system-ui,sans-serif;font-size:1.1rem;max-width:46rem;margin:1rem auto;
 padding:0 1rem;color:#111;background:#fff}
label{display:block;margin-top:.7rem;font-weight:600}
input[type=text],input[type=password]{width:100%;font-size:1.1rem;padding:.35rem;box-sizing:border-box}
fieldset{margin-top:.8rem} fieldset label{display:inline-block;font-weight:400;margin-right:1rem}
button{font-size:1.1rem;margin-top:1rem;padding:.5rem 1.2rem}
[aria-invalid=true]{outline:3px solid #b00020}
.alert{border:3px solid #b00020;padding:.6rem;margin:1rem 0}
.ok{border:3px solid #1b5e20;padding:.6rem;margin:1rem 0}
.braille{font-size:1.6rem;line-height:1.4}
li form{display:inline}
a:focus,input:focus,button:focus{outline:3px solid #1565c0}
"""


def page(title: str, body: str, user: str | None = None, csrf: str = "") -> str:
    logout = (f'<form method="post" action="/logout"><input type="hidden" name="csrf" '
              f'value="{escape(csrf)}"><button type="submit">Keluar ({escape(user)})</button>'
              "</form>") if user else ""
    return (f'<!doctype html><html lang="id"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width,initial-scale=1"><title>{escape(title)}</title>'
            f'<link rel="stylesheet" href="/farmasi.css"></head><body><header>{logout}</header>'
            f"<main>{body}</main></body></html>")


def login_page(error: str | None, next_url: str = "/") -> str:
    alert = f'<div class="alert" role="alert">{escape(error)}</div>' if error else ""
    body = (f"<h1>Masuk: {TITLE}</h1>{alert}"
            '<form method="post" action="/login">'
            f'<input type="hidden" name="next" value="{escape(next_url)}">'
            '<label for="name">Nama pengguna</label>'
            '<input type="text" id="name" name="name" autocomplete="username" autofocus required>'
            '<label for="password">Kata sandi</label>'
            '<input type="password" id="password" name="password" '
            'autocomplete="current-password" required>'
            '<button type="submit">Masuk</button></form>')
    return page(f"Masuk - {TITLE}", body)


def _text_input(name: str, values: Mapping[str, str], error_field: str | None) -> str:
    invalid = ' aria-invalid="true" aria-describedby="error" autofocus' \
        if name == error_field else ""
    required = " required" if name in REQUIRED else ""
    value = escape(values.get(name, ""))
    return (f'<label for="{name}">{CAPTIONS[name]}</label><input type="text" id="{name}" '
            f'name="{name}" value="{value}"{required}{invalid}>')


def _checks(name: str, options: Sequence[tuple[str, str]], chosen: Sequence[str],
            error_field: str | None) -> str:
    invalid = ' aria-invalid="true" aria-describedby="error"' if name == error_field else ""
    boxes = "".join(
        f'<label><input type="checkbox" name="{name}" value="{escape(v)}"'
        f'{" checked" if v in chosen else ""}> {escape(caption)}</label>'
        for v, caption in options)
    return f'<fieldset id="{name}"{invalid}><legend>{CAPTIONS[name]}</legend>{boxes}</fieldset>'


def label_form(values: Mapping[str, str], lists: Mapping[str, Sequence[str]],
               error: tuple[str, str] | None) -> str:
    field = error[0] if error else None
    alert = (f'<div class="alert" role="alert" id="error">Etiket belum dibuat. '
             f'<a href="#{escape(field or "")}">{escape(CAPTIONS.get(field or "", field or ""))}'
             f"</a>: {escape(error[1])}</div>") if error else ""
    when = [(w, w) for w in WHEN_WORDS]
    warnings = [(w.value, WARNING_CAPTIONS[w]) for w in Warning]
    external = ' checked' if values.get("external") else ""
    parts = [_text_input(n, values, field) for n in TEXT_FIELDS[:8]]
    parts.append(_checks("when", when, lists.get("when", ()), field))
    parts += [_text_input(n, values, field) for n in TEXT_FIELDS[8:]]
    parts.append(_checks("warnings", warnings, lists.get("warnings", ()), field))
    parts.append(f'<label><input type="checkbox" name="external" value="1"{external}> '
                 f'{CAPTIONS["external"]}</label>')
    return (f'<section aria-labelledby="buat"><h2 id="buat">Buat etiket</h2>{alert}'
            '<form method="post" action="/labels" novalidate>'
            '<input type="hidden" name="csrf" value="{csrf}">'
            + "".join(parts) + '<button type="submit">Buat etiket</button></form></section>')


def made_notice(number: str, lines: Sequence[str], outputs: Sequence[str],
                omitted: Sequence[str]) -> str:
    said = {"embosser": "dicetak Braille", "printer": "dicetak tinta dengan kode QR",
            "speech": "diucapkan"}
    done = ", ".join(said[o] for o in outputs) or "tidak ada perangkat keluaran"
    cut = (f" Bagian yang tidak muat di Braille: {', '.join(omitted)}." if omitted else "")
    preview = "".join(f'<li><span class="braille" aria-hidden="true">{text_to_unicode(x)}'
                      f"</span> {escape(x)}</li>" for x in lines)
    return (f'<div class="ok" role="status"><p>Etiket {escape(number)}: {done}.{cut}</p>'
            f"<p>Baris Braille:</p><ol>{preview}</ol></div>")


def message_form(phrases: Sequence[str], answers: Sequence[str]) -> str:
    options = "".join(f'<option value="{escape(p)}">{escape(p)}</option>' for p in phrases)
    return ('<section aria-labelledby="pesan"><h2 id="pesan">Pesan ke sel Braille</h2>'
            '<form method="post" action="/message"><input type="hidden" name="csrf" '
            'value="{csrf}"><label for="phrase">Pesan cepat</label>'
            f'<select id="phrase" name="phrase"><option value="">(tulis sendiri)</option>'
            f'{options}</select><label for="text">Pesan lain</label>'
            '<input type="text" id="text" name="text" maxlength="200">'
            f'<p>Jawaban pasien dengan tombol di bawah sel: {escape(" / ".join(answers))}</p>'
            '<button type="submit">Kirim pesan</button></form></section>')


def recent_list(rows: Sequence[tuple[str, str, str]]) -> str:
    """(number, drug line, made by) of labels kept, each with a reprint button."""
    if not rows:
        return ""
    items = "".join(
        f'<li>{escape(n)}: {escape(drug)} ({escape(user)}) <form method="post" '
        f'action="/reprint"><input type="hidden" name="csrf" '
        f'value="{{csrf}}"><input type="hidden" name="number" value="{escape(n)}">'
        f'<button type="submit" aria-label="Cetak ulang {escape(n)}">Cetak ulang</button>'
        "</form></li>" for n, drug, user in rows)
    return (f'<section aria-labelledby="simpan"><h2 id="simpan">Etiket tersimpan</h2>'
            f"<ul>{items}</ul></section>")


def main_page(user: str, csrf: str, notice: str, sections: Sequence[str]) -> str:
    body = (f"<h1>{TITLE}</h1>{notice}"
            + "".join(s.replace("{csrf}", escape(csrf)) for s in sections))
    return page(TITLE, body, user, csrf)


def faults_notice(faults: Mapping[str, str]) -> str:
    """Outputs not working now, so the pharmacist knows a label is waiting for reprint."""
    names = {"embosser": "Embosser Braille", "printer": "Printer etiket"}
    states = {"paper_out": "kertas habis", "offline": "tidak tersambung"}
    items = "".join(f"<li>{names.get(d, d)}: {states.get(s, 'bermasalah')}</li>"
                    for d, s in sorted(faults.items()))
    return (f'<div class="alert" role="alert"><p>Perangkat bermasalah; etiket tersimpan, '
            f"cetak ulang setelah diperbaiki:</p><ul>{items}</ul></div>")
