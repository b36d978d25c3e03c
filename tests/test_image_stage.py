"""The pi-gen stage as far as it can be checked here (pi-gen itself needs Raspberry Pi's
archive): its layout, its packages, and the config `build.sh` hands to pi-gen."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

IMAGE = Path("deploy/image")


def test_stage_layout_follows_pi_gen() -> None:
    stage = IMAGE / "stage-brexit"
    assert os.access(stage / "prerun.sh", os.X_OK)
    assert "copy_previous" in (stage / "prerun.sh").read_text()
    assert "IMG_SUFFIX" in (stage / "EXPORT_IMAGE").read_text()
    run = (stage / "00-brexit" / "01-run.sh").read_text()
    assert "install-rootfs.sh\" --copy-only" in run and "on_chroot < " in run
    packages = (stage / "00-brexit" / "00-packages").read_text().split()
    assert {"cloud-init", "python3-venv", "espeak-ng", "mosquitto", "openssh-server",
            "systemd-timesyncd", "locales"} <= set(packages)


@pytest.mark.slow
def test_build_sh_writes_the_pi_gen_config(tmp_path: Path) -> None:
    done = subprocess.run([str(IMAGE / "build.sh"), "--config-only", "--pi-gen",
                           str(tmp_path / "pi-gen")], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    config = dict(ln.split("=", 1) for ln in (IMAGE / "dist" / "config").read_text()
                  .splitlines() if "=" in ln and not ln.startswith("#"))
    assert config["RELEASE"] == "trixie"
    assert config["STAGE_LIST"].strip('"').split()[-1].endswith("deploy/image/stage-brexit")
    wheel = Path(config["BREXIT_WHEEL"])
    assert wheel.is_file() and wheel.name.startswith("brexit-")
    assert config["TIMEZONE_DEFAULT"] == "Asia/Jakarta"
