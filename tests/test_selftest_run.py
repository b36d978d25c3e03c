"""The whole self-test in simulate mode: emulators on ptys, mock pins, real espeak-ng."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from edge.cli import main
from edge.config import load_config
from edge.selftest.result import Status
from edge.selftest.rig import StandaloneRig
from edge.selftest.run import Options, run_selftest
from edge.simulation import Simulation
from edge.speech.audio import read_wav


def _events(data: Path) -> list[tuple[str, dict[str, object]]]:
    with sqlite3.connect(data / "queue.db") as conn:
        rows = conn.execute("SELECT type, data FROM outbox WHERE type = 'selftest' "
                            "ORDER BY seq").fetchall()
    return [(t, json.loads(d)) for t, d in rows]


def test_paper_out_fails_with_its_code_everywhere(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    data, report = tmp_path / "data", tmp_path / "boot" / "selftest.txt"
    status = main(["selftest", "--simulate", "--data", str(data), "--report", str(report),
                   "--fault", "printer:paper_out", "--trigger", "boot"])
    assert status == 1
    text = report.read_bytes().decode("utf-8")
    lines = text.split("\r\n")
    assert lines[0] == "BREXIT - hasil uji mandiri" and lines[1] == "Node: janti/demo"
    assert "  E21: printer kertas habis" in lines
    assert "  [GAGAL] printer: printer kertas habis (kode E21)" in lines
    assert "  [LULUS] button:service-1: tombol Poli Umum berfungsi" in lines
    assert "  [LULUS] embosser: embosser mencetak baris uji" in lines
    assert "  [LULUS] cells: sel Braille menampilkan semua titik dan pola" in lines
    assert not list(tmp_path.glob("boot/.selftest.txt.*"))  # no temporary file left
    # the event waits in the outbox for the node's MQTT link
    (kind, event), = _events(data)
    assert kind == "selftest" and event["trigger"] == "boot"
    assert event["codes"][0] == "E21" and event["failed"] == len(event["codes"])
    # spoken: the prompts, then the summary, rendered by espeak-ng
    wavs = sorted((data / "speech").glob("*.wav"))
    prompts = 1 + 14  # speaker check, then every button of the demo (kiosk and counters)
    assert len(wavs) == prompts + 1
    summary = read_wav(wavs[-1])
    assert summary.duration > 3.0  # "Uji mandiri selesai. … Kode E dua satu: …"
    # the paper is out: nothing printed, not even the report
    assert list((data / "printed").iterdir()) == []
    embossed = sorted((data / "embossed").glob("*.brf"))
    assert embossed[0].read_text().splitlines()[1] == "=" * 28
    assert "E21: printer kertas habis" in capsys.readouterr().out


def test_all_pass_prints_the_report_and_exits_0(tmp_path: Path) -> None:
    config = load_config(None)
    data = tmp_path / "data"
    with Simulation(config, data) as sim, StandaloneRig(config, sim.hardware(),
                                                        finger=sim.press) as rig:
        outcome = run_selftest(rig, Options(data_dir=data, clock=lambda: True))
        assert sim.printer is not None
        jobs = sim.printer.wait_for_jobs(2, timeout=10)
    assert not outcome.failed, outcome.report
    assert {r.status for r in outcome.results} <= {Status.PASS, Status.SKIP}
    assert outcome.spoken.startswith("Uji mandiri selesai. ")
    assert jobs[0].text_lines[0] == "TIKET UJI"
    assert jobs[1].text_lines[0] == "BREXIT - hasil uji mandiri"


def test_a_dead_button_is_named(tmp_path: Path) -> None:
    data = tmp_path / "data"
    status = main(["selftest", "--simulate", "--data", str(data), "--no-print",
                   "--fault", "button:service-2", "--button-timeout", "1"])
    assert status == 1
    (_, event), = _events(data)
    failed = [c for c in event["checks"] if c["status"] == "fail"]  # type: ignore[union-attr]
    assert failed[0] == {"check": "button:service-2", "status": "fail", "code": "E11",
                         "message": "tombol Poli Gigi tidak terdeteksi"}


@pytest.mark.parametrize("argv", [
    ["--fault", "printer:paper_out"],  # faults need --simulate
    ["--simulate", "--fault", "toaster:burnt"],
    ["--simulate", "--fault", "button:nope"],
    ["--simulate", "--button-timeout", "0"],
])
def test_bad_input_exits_2_with_one_line(tmp_path: Path, argv: list[str],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["selftest", "--data", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("brexit selftest: ") and err.count("\n") == 1


def test_bad_config_is_reported_spoken_and_exits_2(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "node.toml"
    bad.write_text('site = "Janti"\n')
    report = tmp_path / "selftest.txt"
    assert main(["selftest", "--simulate", "--config", str(bad), "--data", str(tmp_path),
                 "--report", str(report)]) == 2
    assert "E01: berkas konfigurasi node salah" in report.read_text(encoding="utf-8")
    assert len(list((tmp_path / "speech").glob("*.wav"))) == 1
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.filterwarnings("ignore::gpiozero.exc.PinFactoryFallback")
def test_real_mode_makes_its_data_directory_and_never_crashes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --simulate on a machine that is not a Pi: no GPIO, maybe no sound card; the
    demo config has no serial devices. Each is a result, never a traceback."""
    data = tmp_path / "new" / "data"
    status = main(["selftest", "--data", str(data), "--button-timeout", "0.1", "--no-print"])
    assert status in (0, 1)
    (_, event), = _events(data)
    checks = {c["check"]: c for c in event["checks"]}  # type: ignore[union-attr]
    assert checks["printer"]["message"] == "printer tidak dipasang"
    assert "Traceback" not in capsys.readouterr().err
