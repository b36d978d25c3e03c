"""``brexit ncc``: the demo as a user starts it (a real process: broker, 16 simulated
puskesmas, NCC, dashboard), users and tokens, and bad input as one line."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from brokers import BrokerPair, MqttProbe, accepts, wait_until
from ncc_helpers import demo_process

from contract.fleet import load_fleet
from ncc.auth import Auth, Role

REPO = Path(__file__).resolve().parents[1]


def brexit(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge.cli", "ncc", *args], input=stdin,
                          capture_output=True, text=True, cwd=REPO, timeout=120)


def anonymous_config(tmp_path: Path) -> Path:
    path = tmp_path / "ncc.toml"
    path.write_text("[mqtt]\nallow_anonymous = true\n[store]\npath = 'ncc.db'\n",
                    encoding="utf-8")
    return path


def test_user_and_token_add(tmp_path: Path) -> None:
    config = anonymous_config(tmp_path)
    added = brexit("user", "add", "sari", "--role", "operator", "--config", str(config),
                   stdin="kata-sandi-panjang\n")
    token = brexit("token", "add", "prometheus", "--role", "viewer", "--config", str(config))
    assert added.returncode == 0, added.stderr
    assert token.returncode == 0, token.stderr
    auth = Auth(tmp_path / "ncc.db")
    assert auth.check_password("sari", "kata-sandi-panjang") is Role.OPERATOR
    assert auth.check_token(token.stdout.strip()) == ("prometheus", Role.VIEWER)


def test_bad_input_is_one_line_and_status_2(tmp_path: Path) -> None:
    config = anonymous_config(tmp_path)
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("[alarms]\nhold_down_s = -5\n", encoding="utf-8")
    for args, stdin, says in (
        (("user", "add", "sari", "--role", "boss", "--config", str(config)), "x" * 12,
         "role must be viewer or operator"),
        (("user", "add", "sari", "--role", "viewer", "--config", str(config)), "",
         "no password on stdin"),
        (("serve", "--config", str(bad_toml)), "", "mqtt.username: required"),
        (("serve", "--config", str(tmp_path / "missing.toml")), "", "cannot read"),
        (("demo", "--listen", "localhost"), "", "--listen: 'localhost' is not HOST:PORT"),
    ):
        done = brexit(*args, stdin=stdin)
        assert done.returncode == 2, (args, done.stderr)
        assert says in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_demo_runs_the_fleet_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    fleet = load_fleet(None)
    nodes = sum(len(s.nodes) for s in fleet.sites)
    proc, lines = demo_process(tmp_path / "demo", REPO)
    try:
        head = [lines.get(timeout=60) for _ in range(3)]
        url = re.fullmatch(r"dashboard: (http://127\.0\.0\.1:\d+/)\n", head[0])
        login = re.fullmatch(r"login: operator (\S+)\n", head[1])
        broker = re.search(r"mqtts://127\.0\.0\.1:(\d+)", head[2])
        assert url and login and broker, head
        assert Auth(tmp_path / "demo" / "ncc.db").check_password(
            "operator", login.group(1)) is Role.OPERATOR

        def metrics() -> str:
            with urllib.request.urlopen(url.group(1) + "metrics", timeout=10) as r:
                return r.read().decode()

        wait_until(lambda: f'brexit_nodes{{state="online"}} {nodes}.0' in metrics(),
                   f"all {nodes} simulated nodes online", 60)
        wait_until(lambda: "brexit_events_ingested_total 0.0" not in metrics(),
                   "tickets flowing", 60)
        for site in fleet.sites:
            assert f'brexit_site_nodes{{site="{site.id}",state="online"}}' in metrics()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    rest = []
    while not lines.empty():
        rest.append(lines.get())
    assert "demo stopped.\n" in rest
    assert not accepts("127.0.0.1", int(broker.group(1)))  # the broker is gone too


def test_serve_from_a_config_file(broker_pair: BrokerPair, tmp_path: Path) -> None:
    (tmp_path / "ncc.password").write_text(broker_pair.ncc.password + "\n", encoding="utf-8")
    config = tmp_path / "ncc.toml"
    config.write_text(
        f'[mqtt]\nhost = "{broker_pair.central.host}"\nport = {broker_pair.central.port}\n'
        f'username = "ncc"\npassword_file = "ncc.password"\ntls_ca = "{broker_pair.ca_file}"\n'
        '[store]\npath = "db/ncc.db"\n[http]\nlisten = "127.0.0.1:0"\n', encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "edge.cli", "ncc", "serve", "--config",
                             str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=REPO, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = re.fullmatch(r"dashboard: (http://127\.0\.0\.1:\d+/)\n", first)
        assert url, first

        def connected() -> bool:
            with urllib.request.urlopen(url.group(1) + "metrics", timeout=10) as r:
                return b"brexit_ncc_broker_connected 1.0" in r.read()

        wait_until(connected, "the NCC on the central broker", 60)
        with MqttProbe(broker_pair.central, broker_pair.ncc) as watch:
            watch.subscribe("brexit/v1/ncc/status")
            assert json.loads(watch.expect("brexit/v1/ncc/status").payload)["online"] is True
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (tmp_path / "db" / "ncc.db").is_file()
