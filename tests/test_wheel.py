"""The project runs from its installed wheel, not only from a checkout: a fresh venv
outside the repository, the wheel installed, the node simulated from there."""

from __future__ import annotations

import subprocess
import venv
import zipfile
from pathlib import Path

import pytest
from wheel import REPO, build_wheel

pytestmark = pytest.mark.slow


def test_the_wheel_carries_its_data() -> None:
    names = set(zipfile.ZipFile(build_wheel()).namelist())
    for data in ("hardware/pinmap.toml", "firmware/cellfw/runner.py", "firmware/main.py",
                 "firmware/cells.json", "firmware/vectors/link_vectors.json",
                 "contract/schemas/event.json", "mqtt_config/site.conf.template",
                 "edge/config_schema.json", "edge/data/demo.toml", "ncc/data/fleet.toml"):
        assert data in names, data
    assert not any(n.startswith(("tests/", "deploy/")) for n in names)
    packaged = zipfile.ZipFile(build_wheel()).read("ncc/data/fleet.toml")
    assert packaged == (REPO / "deploy" / "fleet.toml").read_bytes()  # the inventory itself


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = tmp_path_factory.mktemp("wheel-venv") / "venv"
    venv.create(env, with_pip=True)
    subprocess.run([str(env / "bin" / "pip"), "install", "--quiet",
                    "--disable-pip-version-check", str(build_wheel())],
                   check=True, capture_output=True)
    return env


def run(env: Path, cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(env / "bin" / "brexit"), *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=300, check=False)


def test_installed_commands_run_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    where = subprocess.run([str(installed / "bin" / "python"), "-c",
                            "import edge, hardware, firmware; print(edge.__file__); "
                            "print(hardware.__file__); print(firmware.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    for line in where.splitlines():
        assert line.startswith(str(installed)) and not line.startswith(str(REPO)), line
    version = run(installed, tmp_path, "--version")
    assert version.returncode == 0 and version.stdout.startswith("brexit ")
    braille = run(installed, tmp_path, "braille", "halo")
    assert braille.returncode == 0 and braille.stdout.strip() == "⠓⠁⠇⠕"


def test_simulated_node_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    done = run(installed, tmp_path, "node", "--simulate", "--data", str(tmp_path / "data"),
               stdin="press A\ncells\nhealth\nquit\n")
    assert done.returncode == 0, done.stderr
    assert "ready demo/" in done.stdout or "ready " in done.stdout
    assert "A-001" in done.stdout
    health = next(ln for ln in done.stdout.splitlines() if ln.startswith("{"))
    assert '"cells": "ok"' in health  # the firmware emulator ran from package data
    assert (tmp_path / "data" / "embossed").is_dir()
