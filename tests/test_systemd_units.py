"""The node's systemd units: `systemd-analyze verify` and `security --offline` (exposure at
most 3), the watchdog contract, the sysusers entry, and how the image installs them."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path("deploy")
UNITS = ("brexit-node.service", "brexit-selftest.service")  # hardened to exposure <= 3
ALL_UNITS = (*UNITS, "brexit-site-broker.service")
needs_systemd = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                   reason="systemd-analyze is part of systemd")


def unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / "systemd" / name)
    return parser


@needs_systemd
@pytest.mark.parametrize("name", UNITS)
def test_exposure_is_at_most_3(name: str) -> None:
    done = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager",
                           str(DEPLOY / "systemd" / name)],
                          capture_output=True, text=True, check=False)
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout)
    assert match, done.stdout[-500:] + done.stderr
    assert float(match.group(1)) <= 3.0


def fake_root(tmp_path: Path, units: dict[str, str]) -> Path:
    """A root with the commands the units run (as the image has them: /opt/brexit/.venv,
    /bin/sh, /bin/cp) and systemd's own units, for `verify --root`."""
    root = tmp_path / "root"
    for command in ("opt/brexit/.venv/bin/brexit", "bin/sh", "bin/cp", "bin/kill",
                    "usr/sbin/mosquitto"):
        path = root / command
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    (root / "usr/lib/systemd").mkdir(parents=True)
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    for name, text in units.items():
        (root / "usr/lib/systemd/system" / name).write_text(text)
    return root


def verify(root: Path, *names: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["systemd-analyze", "verify", "--man=no", f"--root={root}", *names],
                          capture_output=True, text=True, check=False)


@needs_systemd
def test_units_verify(tmp_path: Path) -> None:
    root = fake_root(tmp_path, {n: (DEPLOY / "systemd" / n).read_text() for n in ALL_UNITS})
    done = verify(root, *ALL_UNITS)
    assert done.returncode == 0, done.stderr


@needs_systemd
def test_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    text = (DEPLOY / "systemd" / "brexit-node.service").read_text()
    broken = text.replace("/opt/brexit/.venv/bin/brexit node", "/opt/brexit/bin/brexit node")
    done = verify(fake_root(tmp_path, {"brexit-node.service": broken}), "brexit-node.service")
    assert done.returncode != 0 and "is not executable" in done.stderr


def test_node_unit_is_notify_with_watchdog_and_restart() -> None:
    s = unit("brexit-node.service")["Service"]
    assert s["Type"] == "notify" and s["NotifyAccess"] == "main"
    assert int(s["WatchdogSec"]) > 0 and s["Restart"] == "on-failure"
    assert s["User"] == "brexit" and s["StateDirectory"] == "brexit/node"
    assert s["ProtectSystem"] == "strict" and s["NoNewPrivileges"] == "yes"
    assert s["ExecStart"].startswith("/opt/brexit/.venv/bin/brexit node --config "
                                      "/boot/firmware/brexit/node.toml")


def test_selftest_runs_once_per_seed_before_the_node() -> None:
    u = unit("brexit-selftest.service")
    assert u["Service"]["Type"] == "oneshot"
    assert "brexit-node.service" in u["Unit"]["Before"]
    assert "cloud-config.service" in u["Unit"]["After"]
    # cloud-init.target comes after multi-user.target: ordering after it is a cycle.
    assert "cloud-init.target" not in u["Unit"]["After"]
    assert "selftest.seed" in u["Service"]["ExecCondition"]
    assert "--report /boot/firmware/brexit/selftest.txt" in u["Service"]["ExecStart"]
    assert u["Service"]["ReadWritePaths"] == "/boot/firmware/brexit"


def test_site_broker_runs_only_where_the_seed_has_a_bundle() -> None:
    u = unit("brexit-site-broker.service")
    assert u["Unit"]["ConditionPathExists"] == "/boot/firmware/brexit/mosquitto/mosquitto.conf"
    assert "brexit-node.service" in u["Unit"]["Before"]
    assert u["Service"]["ExecStart"].endswith("mosquitto -c /etc/brexit/mosquitto/mosquitto.conf")
    assert "brexit broker install --bundle /boot/firmware/brexit/mosquitto" in \
        u["Service"]["ExecStartPre"]


def test_sysusers_gives_brexit_its_device_groups() -> None:
    lines = [ln.split() for ln in (DEPLOY / "sysusers.d" / "brexit.conf").read_text()
             .splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines[0][:2] == ["u", "brexit"]
    assert {ln[2] for ln in lines if ln[0] == "m"} == {"gpio", "dialout", "audio", "lp"}


def test_install_rootfs_copies_what_the_image_needs(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "usr/lib/systemd/system").mkdir(parents=True)
    wheel = tmp_path / "brexit-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK")
    done = subprocess.run([str(DEPLOY / "image" / "install-rootfs.sh"), "--copy-only",
                           str(root), str(wheel)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    for path in ("usr/lib/systemd/system/brexit-node.service",
                 "usr/lib/systemd/system/brexit-selftest.service",
                 "usr/lib/systemd/system/brexit-site-broker.service",
                 "usr/lib/sysusers.d/brexit.conf", "etc/cloud/cloud.cfg.d/90-brexit.cfg",
                 "usr/local/sbin/brexit-update", "tmp/brexit-install/" + wheel.name,
                 "opt/brexit/share/README.md"):
        assert (root / path).is_file(), path
    bad = subprocess.run([str(DEPLOY / "image" / "install-rootfs.sh"), str(tmp_path / "none"),
                          str(wheel)], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "is not a root filesystem" in bad.stderr


def test_fstab_options_for_the_boot_partition(tmp_path: Path) -> None:
    """in-root.sh's fstab edit, run on pi-gen's fstab line (idempotent)."""
    script = (DEPLOY / "image" / "in-root.sh").read_text()
    edit = script[script.index("fstab_options="):script.index("systemctl enable")]
    fstab = tmp_path / "fstab"
    fstab.write_text("proc /proc proc defaults 0 0\n"
                     "PARTUUID=1234-01 /boot/firmware vfat defaults 0 2\n")
    for _ in range(2):
        subprocess.run(["sh", "-c", edit.replace("/etc/fstab", str(fstab))], check=True)
    assert fstab.read_text().splitlines()[1].split() == [
        "PARTUUID=1234-01", "/boot/firmware", "vfat",
        "defaults,uid=0,gid=brexit,fmask=0117,dmask=0007,quiet", "0", "2"]


def test_cloud_init_reads_the_seed_from_bootfs() -> None:
    import yaml
    cfg = yaml.safe_load((DEPLOY / "image/rootfs/etc/cloud/cloud.cfg.d/90-brexit.cfg")
                         .read_text())
    assert cfg["datasource_list"][0] == "NoCloud"
    assert cfg["datasource"]["NoCloud"]["fs_label"] == "bootfs"
