"""A node config whose TLS files are missing or not PEM is refused at start, with one line
naming the field (before, the link thread died at its first connection attempt)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import ConfigError, load_config
from mqtt_config.pki import make_ca

BASE = """
site = "janti"
node = "kiosk-1"
site_name = "UPT Puskesmas Janti"
roles = ["kiosk"]
services = [{ code = "A", name = "Poli Umum" }]

[mqtt]
host = "127.0.0.1"
username = "node.janti.kiosk-1"
password = "rahasia"
"""


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ca")
    return make_ca(out).cert


def write(tmp_path: Path, mqtt_lines: str) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(BASE + mqtt_lines, encoding="utf-8")
    return path


@pytest.mark.parametrize(("lines", "files", "error"), [
    ('tls_ca = "fleet-ca.crt"\n', {}, "mqtt.tls_ca: cannot read {d}/fleet-ca.crt: "
                                      "No such file or directory"),
    ('tls_ca = "fleet-ca.crt"\n', {"fleet-ca.crt": "garbage\n"},
     "mqtt.tls_ca: {d}/fleet-ca.crt is not a PEM certificate"),
    ('tls_ca = "certs"\n', {"certs/x": ""}, "mqtt.tls_ca: cannot read {d}/certs: Is a directory"),
    ('tls_ca = "ca.crt"\ntls_cert = "node.crt"\ntls_key = "node.key"\n', {"ca.crt": "CA",
     "node.key": "k"}, "mqtt.tls_cert: cannot read {d}/node.crt: No such file or directory"),
    ('tls_ca = "ca.crt"\ntls_cert = "node.crt"\ntls_key = "node.key"\n', {"ca.crt": "CA",
     "node.crt": "c"}, "mqtt.tls_key: cannot read {d}/node.key: No such file or directory"),
])
def test_missing_or_garbage_tls_files_are_refused_naming_the_field(
    tmp_path: Path, ca: Path, lines: str, files: dict[str, str], error: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        if text == "CA":
            shutil.copy(ca, tmp_path / name)
        else:
            (tmp_path / name).write_text(text, encoding="utf-8")
    path = write(tmp_path, lines)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert error.format(d=tmp_path) in message, message


def test_present_tls_files_are_accepted(tmp_path: Path, ca: Path) -> None:
    shutil.copy(ca, tmp_path / "fleet-ca.crt")
    config = load_config(write(tmp_path, 'tls_ca = "fleet-ca.crt"\n'))
    assert config.mqtt is not None and config.mqtt.tls_ca == tmp_path / "fleet-ca.crt"


def test_brexit_node_refuses_to_start_with_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'tls_ca = "fleet-ca.crt"\n')
    done = subprocess.run(
        [sys.executable, "-m", "edge.cli", "node", "--simulate", "--config", str(path),
         "--data", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"brexit node: {path}: mqtt.tls_ca: cannot read {tmp_path}/fleet-ca.crt: "
        "No such file or directory"]
