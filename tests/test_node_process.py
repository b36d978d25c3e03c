"""``brexit node --simulate`` as a process: control lines, restarts, SIGKILL, bad configs."""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections import defaultdict
from pathlib import Path

import pytest
from gpiozero import Device
from nodeproc import NodeProcess, embossed_numbers

from edge.cli import main
from edge.speech.audio import read_wav, rms

ROOT = Path(__file__).resolve().parents[1]


def test_simulated_node_from_stdin(tmp_path: Path) -> None:
    node = NodeProcess(tmp_path)
    for line in ("press A", "press B", "press C", "press next-1"):
        node.send(line)
    node.expect("called number=A-001 counter=1")
    node.send("health")
    health = json.loads(node.expect("{"))
    assert health["printer"] == "ok" and health["embosser"] == "ok"
    assert health["cells"] == "ok"
    assert cells_until(node, " C-001 0")  # the last patient's number, 0 waiting before
    node.send("key 0")
    node.expect("cell-key key=0")
    node.send("message tunggu sebentar")
    assert cells_until(node, " tunggu sebentar")
    node.send("message loket dua tutup pukul dua belas siang")  # more than the 20 cells
    assert node.expect("message in") == (
        "message in 3 pages of 20 cells: the last routing key shows the next"
    )
    assert node.quit() == 0
    assert embossed_numbers(tmp_path) == ["A-001", "B-001", "C-001"]
    printed = sorted(p.name for p in (tmp_path / "printed").glob("*.txt"))
    assert printed == ["0001-A-001.txt", "0002-B-001.txt", "0003-C-001.txt"]
    assert "A-001" in (tmp_path / "printed" / "0001-A-001.txt").read_text(encoding="utf-8")
    wavs = sorted((tmp_path / "speech").glob("*.wav"))
    assert len(wavs) >= 2
    for wav in wavs:
        pcm = read_wav(wav)
        assert pcm.duration > 0.5 and rms(pcm) > 100

    again = NodeProcess(tmp_path)  # the same day continues the same numbers
    again.send("press A")
    again.expect("issued number=A-002")
    assert again.quit() == 0


def cells_until(node: NodeProcess, suffix: str, tries: int = 100) -> bool:
    """Ask for the cells until they show ``suffix`` (the cells' worker is asynchronous)."""
    for _ in range(tries):
        node.send("cells")
        if node.expect("cells ").endswith(suffix):
            return True
        time.sleep(0.05)
    return False


def test_bad_control_lines_get_an_error_and_the_node_goes_on(tmp_path: Path) -> None:
    node = NodeProcess(tmp_path)
    node.send("press Z")
    assert "no service" in node.expect("error")
    node.send("dance")
    node.expect("error unknown control line")
    node.send("press A")
    node.expect("issued number=A-001")
    assert node.quit() == 0


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("hold A inf", "error hold: SECONDS must be more than 0 and at most 600, not inf"),
        ("hold A -5", "error hold: SECONDS must be more than 0 and at most 600, not -5"),
        ("hold A nan", "error hold: SECONDS must be more than 0 and at most 600, not nan"),
        ("hold A lama", "error hold: SECONDS must be a number, not 'lama'"),
        ("key 999", "error no routing key 999: the keys are 0.."),
        ("key -1", "error no routing key -1: the keys are 0.."),
        ("key satu", "error key: N must be a whole number, not 'satu'"),
        ("message 😀", "error the cells cannot show this message: no Indonesian Braille"),
    ],
)
def test_bad_values_in_control_lines_leave_no_button_held(
    tmp_path: Path, line: str, message: str
) -> None:
    node = NodeProcess(tmp_path)
    node.send(line)
    assert node.expect("error").startswith(message)
    node.send("health")
    assert json.loads(node.expect("{"))["buttons"] == {"state": "ok", "stuck": []}
    node.send("press A")  # the button is up: this is a press, and the first ticket
    node.expect("issued number=A-001")
    assert node.quit() == 0
    assert "Traceback" not in node.proc.stderr.read()  # type: ignore[union-attr]


def _check_database(db: Path) -> tuple[int, int]:
    """Numbers unique and gap-free per service; one issued event per ticket, seq gap-free."""
    conn = sqlite3.connect(db)
    serials: dict[tuple[int, str], list[int]] = defaultdict(list)
    for series, service, number in conn.execute(
        "SELECT series, service, number FROM ticket ORDER BY id"
    ):
        serials[(series, service)].append(int(number.split("-")[1]))
    for got in serials.values():
        assert got == list(range(1, len(got) + 1))
    seqs = [r[0] for r in conn.execute("SELECT seq FROM outbox ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))
    (last,) = conn.execute("SELECT value FROM meta WHERE key = 'last_seq'").fetchone()
    assert int(last) == len(seqs)
    issued = [json.loads(d)["number"] for (d,) in conn.execute(
        "SELECT data FROM outbox WHERE type = 'ticket.issued' ORDER BY seq")]
    tickets = [n for (n,) in conn.execute("SELECT number FROM ticket ORDER BY id")]
    assert issued == tickets
    return len(tickets), len(seqs)


def test_sigkill_during_a_burst_loses_nothing_and_reuses_nothing(tmp_path: Path) -> None:
    rng = random.Random(20261129)
    heard: list[str] = []
    for _ in range(4):
        node = NodeProcess(tmp_path)
        for i in range(12):
            node.send(f"press {'ABCD'[i % 4]}")
        time.sleep(rng.uniform(0.3, 1.5))
        node.kill()
        heard += [line.split()[1].split("=")[1] for line in node.seen if line.startswith("issued")]
        while not node.lines.empty():
            line = node.lines.get()
            if line.startswith("issued"):
                heard.append(line.split()[1].split("=")[1])
    tickets, _ = _check_database(tmp_path / "queue.db")
    assert tickets >= len(heard) > 0  # every ticket a patient was told of is stored
    conn = sqlite3.connect(tmp_path / "queue.db")
    stored = {n for (n,) in conn.execute("SELECT number FROM ticket")}
    assert set(heard) <= stored


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('site = "janti"\n', "(top level): 'node' is a required property"),
        ('site = "Janti"\nnode = "k1"\nsite_name = "x"\nroles = ["kiosk"]\n'
         '[[services]]\ncode = "A"\nname = "Poli Umum"\n', "site: 'Janti' does not match"),
        ('site = "janti"\nnode = "k1"\nsite_name = "x"\nroles = ["kiosk"]\n'
         '[[services]]\ncode = "AA"\nname = "Poli Umum"\n', "services[0].code"),
        ('site = "janti"\nnode = "k1"\nsite_name = "x"\nroles = ["kiosk", "caller"]\n'
         '[[services]]\ncode = "A"\nname = "Poli Umum"\n'
         '[[counters]]\nnumber = 1\nservices = ["B"]\n', "counters[0].services: unknown service"),
        ('site = "janti"\nnode = "k1"\nsite_name = "x"\nroles = ["kiosk"]\n'
         '[[services]]\ncode = "A"\nname = "Poli Umum"\n[printer]\nbaudrate = 1234\n',
         "printer.baudrate"),
        ('site = "janti"\nnode = "k1"\nsite_name = "x"\nroles = ["waiter"]\n'
         '[[services]]\ncode = "A"\nname = "Poli Umum"\n', "roles[0]"),
        ('site = "janti"\nnode = "k1"\nsite_name = "x"\nroles = ["kiosk"]\n'
         '[[services]]\ncode = "A"\nname = "Poli Umum"\n[mqtt]\nhost = "site"\n',
         "mqtt: username and password"),
        ('site = "janti"\nnode = \n', "not valid TOML"),
        ('site = "janti"\nnode = "k1"\nsite_name = "x"\nroles = ["kiosk"]\n'
         '[[services]]\ncode = "A"\nname = "Poli Umum"\nbutton = "service-1"\n'
         '[[services]]\ncode = "B"\nname = "Poli Gigi"\nbutton = "service-1"\n',
         "services[1].button: 'service-1' used twice"),
    ],
)
def test_a_bad_config_is_refused_with_the_field_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, message: str
) -> None:
    config = tmp_path / "node.toml"
    config.write_text(toml, encoding="utf-8")
    status = main(["node", "--simulate", "--config", str(config), "--data", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err and str(config) in err
    assert not (tmp_path / "queue.db").exists()  # the node did not start


def test_a_missing_config_file_is_refused(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["node", "--config", str(tmp_path / "none.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_broker_without_a_login_in_the_config_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["node", "--simulate", "--data", str(tmp_path), "--broker", "127.0.0.1:1"])
    assert status == 2
    assert "mqtt: --broker needs the node's login in [mqtt]" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore::gpiozero.exc.PinFactoryFallback")
def test_without_gpio_a_real_node_says_so_and_stops(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    monkeypatch.setattr(Device, "pin_factory", None)  # no factory left over from elsewhere
    config = tmp_path / "kiosk.toml"
    config.write_text('site = "janti"\nnode = "kiosk-1"\nsite_name = "UPT Puskesmas Janti"\n'
                      'roles = ["kiosk"]\n[[services]]\ncode = "A"\nname = "Poli Umum"\n',
                      encoding="utf-8")
    status = main(["node", "--config", str(config), "--data", str(tmp_path / "data")])
    assert status == 1
    assert "cannot reach the GPIO pins" in capsys.readouterr().err


def test_a_kiosk_node_needs_only_the_kiosk_board_of_its_pin_map(tmp_path: Path) -> None:
    pinmap = (ROOT / "hardware" / "pinmap.toml").read_text(encoding="utf-8")
    (tmp_path / "pins.toml").write_text(pinmap[: pinmap.index("[boards.counter]")])
    config = tmp_path / "node.toml"
    config.write_text('site = "janti"\nnode = "k1"\nsite_name = "Janti"\nroles = ["kiosk"]\n'
                      'pinmap = "pins.toml"\n[[services]]\ncode = "A"\nname = "Poli Umum"\n')
    node = NodeProcess(tmp_path / "data", config=config)
    node.send("press A")
    node.expect("issued number=A-001")
    node.send("press next-1")
    assert node.expect("error") == "error no button 'next-1'"
    assert node.quit() == 0
