"""Medicine labels: checking, the Braille lines (by back-translation), ink and speech."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from edge.braille.codec import ascii_to_text, cell_count, text_to_ascii, unicode_to_text
from edge.devices.escpos_decode import QrCode, TextLine, decode
from edge.pharmacy.braille_lines import MAX_LINES, braille_label
from edge.pharmacy.ink import label_bytes, plain_text
from edge.pharmacy.label import LabelError, parse_label
from edge.pharmacy.serve import users_db
from edge.pharmacy.spoken import label_sentence, say_numbers
from ncc.auth import Auth, Role

TODAY = date(2026, 11, 30)


def label(**fields: Any) -> Any:
    return parse_label({"drug": "Parasetamol", "dose": "3 x sehari 1 tablet", **fields},
                       today=TODAY)


def read_back(lines: tuple[str, ...]) -> list[str]:
    """What a reader finds on the paper: the lines through Braille ASCII and back."""
    return [ascii_to_text(text_to_ascii(line)) for line in lines]


# --- held-out style table: a label's fields -> its Braille lines at 28 cells ------------
BRAILLE_28 = [
    ({"drug": "Amoksisilin", "strength": "500 mg", "when": ["sesudah makan"],
      "expiry": "2027-12", "warnings": ["habiskan"]},
     ["amoksisilin 500 mg", "3 x sehari 1 tablet", "sesudah makan", "ed 12-2027 habiskan"]),
    ({"drug": "Parasetamol", "strength": "120 mg/5 ml", "dose": "3 x sehari 1/2 sendok takar",
      "when": ["bila perlu"], "expiry": "2028-01-31", "warnings": ["kocok_dahulu"]},
     ["parasetamol 120 mg/5 ml", "3 x setengah sendok takar", "bila perlu",
      "kocok dahulu"]),  # "ed 31-01-2028 kocok dahulu" is 29 cells
    ({"drug": "Gentamisin salep", "strength": "0,1%", "dose": "2 x sehari", "external": True,
      "when": ["pagi", "malam"]},
     ["gentamisin salep", "0,1 persen", "2 x sehari", "obat luar pagi malam"]),
    ({"drug": "CTM", "strength": "4 mg", "dose": "1 x sehari 1 tablet",
      "when": ["malam"], "warnings": ["mengantuk"]},
     ["ctm 4 mg", "1 x sehari 1 tablet", "malam"]),
    ({"drug": "Metformin", "strength": "500 mg", "dose": "2 x sehari ½ tablet",
      "when": ["pagi", "malam", "saat makan"], "expiry": "2029-06"},
     ["metformin 500 mg", "2 x sehari setengah tablet", "pagi malam saat makan",
      "ed 06-2029"]),
]


@pytest.mark.parametrize(("fields", "expected"), BRAILLE_28)
def test_braille_lines_read_back_as_written(fields: dict[str, Any], expected: list[str]) -> None:
    lines = braille_label(label(**fields), 28).lines
    assert read_back(lines) == expected


# --- widths: 19 (a 120 mm label), 28, 40 -------------------------------------------
LONG = {"drug": "Kotrimoksazol forte", "strength": "960 mg", "dose": "2 x sehari 1 tablet",
        "when": ["pagi", "malam", "sesudah makan"], "expiry": "2027-03-15",
        "warnings": ["habiskan", "mengantuk"]}


@pytest.mark.parametrize("width", [19, 28, 40])
@pytest.mark.parametrize("fields", [f for f, _ in BRAILLE_28] + [LONG])
def test_lines_fit_the_width_and_count(width: int, fields: dict[str, Any]) -> None:
    made = braille_label(label(**fields), width)
    assert 1 <= len(made.lines) <= MAX_LINES
    assert all(cell_count(line) <= width for line in made.lines), made.lines
    assert made.lines[0].startswith(fields["drug"].lower().split()[0][:width])


def test_a_narrow_label_shortens_by_priority_never_the_drug() -> None:
    wide = braille_label(label(**LONG), 40)
    narrow = braille_label(label(**LONG), 19)
    assert read_back(wide.lines) == ["kotrimoksazol forte 960 mg", "2 x sehari 1 tablet",
                                     "pagi malam sesudah makan", "ed 15-03-2027 habiskan"]
    assert read_back(narrow.lines) == ["kotrimoksazol forte", "960 mg", "2 x 1 tablet",
                                       "sesudah makan"]
    assert narrow.omitted == ("expiry",)  # timing comes before ED and HABISKAN
    assert narrow.shortened == ("dose", "timing")


def test_every_number_has_its_number_sign() -> None:
    ascii_lines = [text_to_ascii(x) for x in braille_label(label(**LONG), 40).lines]
    assert ascii_lines[1] == "#B X SEHARI #A TABLET"
    assert ascii_lines[3] == "ED #AE-#JC-#BJBG HABISKAN"


# --- invalid labels: one message naming the field ----------------------------------
INVALID = [
    ({"dose": "1 x sehari"}, "drug", "nama obat wajib diisi"),
    ({"drug": "Parasetamol"}, "dose", "aturan pakai wajib diisi"),
    ({"drug": "  ", "dose": "1 x"}, "drug", "wajib diisi"),
    ({"drug": "Parasetamol", "dose": "1 x", "expiry": "2026-10"}, "expiry", "sudah lewat"),
    ({"drug": "Parasetamol", "dose": "1 x", "expiry": "2026-11-29"}, "expiry", "sudah lewat"),
    ({"drug": "Parasetamol", "dose": "1 x", "expiry": "2027-13"}, "expiry", "bukan tanggal"),
    ({"drug": "Parasetamol ☺", "dose": "1 x"}, "drug", "tidak dapat ditulis dalam Braille"),
    ({"drug": "Parasetamol", "dose": "1 x sehari 1 tablet →"}, "dose", "Braille"),
    ({"drug": "Parasetamol", "dose": "1 x", "when": ["tengah hari"]}, "when", "tidak dikenal"),
    ({"drug": "Parasetamol", "dose": "1 x", "warnings": ["awas"]}, "warnings", "tidak dikenal"),
    ({"drug": "Parasetamol", "dose": "1 x", "age": "tua"}, "age", "bukan umur"),
    ({"drug": "Parasetamol", "dose": "1 x", "external": "ya"}, "external", "true atau false"),
    ({"drug": ["Parasetamol"], "dose": "1 x"}, "drug", "teks"),
    ({"drug": "Parasetamol", "dose": "1 x", "number": "R 1"}, "number", "huruf"),
]


@pytest.mark.parametrize(("raw", "field", "words"), INVALID)
def test_invalid_labels_name_the_field(raw: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(LabelError) as caught:
        parse_label(raw, today=TODAY)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ") and words in str(caught.value)


def test_a_drug_too_long_for_the_label_is_refused() -> None:
    with pytest.raises(LabelError, match=r"^drug: .*4 baris 10 sel"):
        braille_label(label(drug="Kloramfenikol palmitat suspensi oral", strength="125 mg"), 10)


def test_an_expiry_of_this_month_is_still_good() -> None:
    assert label(expiry="2026-11").expiry_text == "11-2026"


# --- ink: every field, large drug and dose, QR with the whole label --------------------
def test_ink_label_has_every_field_and_the_qr_carries_them() -> None:
    made = label(strength="500 mg", form="tablet", quantity="10", patient="Budi Santoso",
                 age=40, when=["pagi", "malam"], purpose="demam", expiry="2027-12",
                 storage="di tempat sejuk", pharmacist="apt. Rina", number="R-0012",
                 warnings=["mengantuk"])
    elements = decode(label_bytes(made, "UPT Puskesmas Janti", 32))
    lines = [e for e in elements if isinstance(e, TextLine)]
    text = "\n".join(line.text for line in lines)
    for words in ("ETIKET PUTIH - OBAT DALAM", "Budi Santoso (40 th)", "tablet, 10", "demam",
                  "ED: 12-2027", "di tempat sejuk", "DAPAT MENYEBABKAN KANTUK", "apt. Rina",
                  "R-0012, 30-11-2026"):
        assert words in text
    big = " ".join(line.text for line in lines if line.big)
    assert "Parasetamol 500 mg" in big and "3 x sehari 1 tablet" in big
    [qr] = [e for e in elements if isinstance(e, QrCode)]
    assert qr.payload == plain_text(made, "UPT Puskesmas Janti")
    assert "Pasien: Budi Santoso (40 th)" in qr.payload.splitlines()


def test_external_medicine_gets_the_blue_etiket() -> None:
    made = label(external=True)
    assert plain_text(made, "Puskesmas").splitlines()[0] == "ETIKET BIRU - OBAT LUAR"
    assert "Peringatan: OBAT LUAR" in plain_text(made, "Puskesmas")


# --- speech ------------------------------------------------------------------------
SAY = [
    ("3 x sehari 1 tablet", "tiga kali sehari satu tablet"),
    ("2 x sehari 2,5 ml", "dua kali sehari dua koma lima mililiter"),
    ("Parasetamol 500mg", "Parasetamol lima ratus miligram"),
    ("3x1 kapsul", "tiga kali satu kapsul"),
    ("1 x seminggu", "satu kali seminggu"),
]


@pytest.mark.parametrize(("text", "spoken"), SAY)
def test_numbers_and_units_are_said_in_words(text: str, spoken: str) -> None:
    assert say_numbers(text) == spoken


def test_the_whole_label_is_spoken() -> None:
    sentence = label_sentence(label(external=True, purpose="gatal", expiry="2027-02-10",
                                    warnings=["kocok_dahulu"], patient="Sari"))
    assert sentence == ("Etiket obat untuk Sari. Parasetamol. Aturan pakai: tiga kali sehari "
                        "satu tablet. Obat luar, jangan diminum. Untuk gatal. Kocok dahulu. "
                        "Gunakan sebelum tanggal sepuluh Februari dua ribu dua puluh tujuh.")


# --- brexit label -------------------------------------------------------------------
def brexit(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge.cli", *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


def write(tmp_path: Path, raw: Any) -> str:
    path = tmp_path / "label.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return str(path)


GOOD = {"drug": "Amoksisilin", "strength": "500 mg", "dose": "3 x sehari 1 tablet",
        "when": ["sesudah makan"], "expiry": "2099-12", "warnings": ["habiskan"]}


def test_cli_prints_the_braille_lines(tmp_path: Path) -> None:
    out = brexit("label", "--json", write(tmp_path, GOOD), "--width", "19")
    assert out.returncode == 0, out.stderr
    assert [unicode_to_text(x) for x in out.stdout.splitlines()] == [
        "amoksisilin 500 mg", "3 x 1 tablet", "sesudah makan", "habiskan"]
    ascii_out = brexit("label", "--json", "-", "--ascii", stdin=json.dumps(GOOD))
    assert ascii_out.stdout.splitlines()[0] == "AMOKSISILIN #EJJ MG"


def test_cli_text_and_wav(tmp_path: Path) -> None:
    text = brexit("label", "--json", write(tmp_path, GOOD), "--text")
    assert text.stdout.startswith("Etiket obat. Amoksisilin lima ratus miligram.")
    wav = tmp_path / "label.wav"
    out = brexit("label", "--json", write(tmp_path, GOOD), "--wav", str(wav))
    assert out.returncode == 0, out.stderr
    with wave.open(str(wav)) as audio:
        assert audio.getnframes() / audio.getframerate() > 3.0  # a whole label, not a beep


@pytest.mark.parametrize(("raw", "message"), [
    ({"dose": "1 x"}, "brexit label: drug: nama obat wajib diisi"),
    ({**GOOD, "expiry": "2001-01"}, "brexit label: expiry: tanggal kedaluwarsa 2001-01"),
    ({**GOOD, "drug": "Obat ♥"}, "brexit label: drug: huruf '♥'"),
    ([1, 2], "brexit label: label: harus berupa objek JSON"),
])
def test_cli_refuses_a_bad_label_in_one_line(tmp_path: Path, raw: Any, message: str) -> None:
    out = brexit("label", "--json", write(tmp_path, raw))
    assert out.returncode == 2
    assert out.stderr.startswith(message) and len(out.stderr.splitlines()) == 1
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("args", [["--json", "/nonexistent.json"], ["--json", "-"],
                                  ["--json", "x", "--width", "9"]])
def test_cli_bad_arguments_in_one_line(args: list[str]) -> None:
    out = brexit("label", *args, stdin="{not json")
    assert out.returncode == 2 and len(out.stderr.splitlines()) == 1, out.stderr
    assert "Traceback" not in out.stderr


# --- brexit pharmacist ---------------------------------------------------------------
def test_pharmacists_are_added_listed_and_given_tokens(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    added = brexit("pharmacist", "--data", data, "add", "rina", stdin="rahasia-panjang\n")
    assert added.returncode == 0 and added.stdout == "pharmacist rina can log in\n"
    assert brexit("pharmacist", "--data", data, "list").stdout == "rina\n"
    token = brexit("pharmacist", "--data", data, "token", "rina").stdout.strip()
    auth = Auth(users_db(tmp_path / "data"))
    assert auth.check_password("rina", "rahasia-panjang") is Role.OPERATOR
    assert auth.check_token(token) == ("rina", Role.OPERATOR)


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["add", "Rina Besar"], "rahasia-panjang\n", "brexit pharmacist: user name 'Rina Besar'"),
    (["add", "rina"], "pendek\n", "brexit pharmacist: password must have at least 8"),
    (["token", "x y"], "", "brexit pharmacist: user name 'x y'"),
])
def test_pharmacist_errors_in_one_line(tmp_path: Path, args: list[str], stdin: str,
                                       message: str) -> None:
    out = brexit("pharmacist", "--data", str(tmp_path), *args, stdin=stdin)
    assert out.returncode == 2 and out.stderr.startswith(message)
    assert len(out.stderr.splitlines()) == 1
