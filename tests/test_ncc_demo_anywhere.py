"""``brexit ncc demo`` from any directory: its inventory is the project's own
``deploy/fleet.toml``, installed as package data, not a path under the current directory."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from ncc_helpers import demo_process

from contract.fleet import FleetError, load_fleet
from ncc.demo import demo_fleet

REPO = Path(__file__).resolve().parents[1]


def test_demo_starts_outside_the_checkout(tmp_path: Path) -> None:
    """Was: 'brexit ncc: deploy/fleet.toml: cannot read: No such file or directory'."""
    away = tmp_path / "elsewhere"
    away.mkdir()
    proc, lines = demo_process(tmp_path / "demo", away)
    try:
        first = lines.get(timeout=60)
        assert re.fullmatch(r"dashboard: http://127\.0\.0\.1:\d+/\n", first), first
        assert lines.get(timeout=60).startswith("login: operator ")
        sites = len(load_fleet(REPO / "deploy" / "fleet.toml").sites)
        assert f" in {sites} puskesmas;" in lines.get(timeout=60)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_demo_with_a_missing_fleet_file_says_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "fleet.toml"
    done = subprocess.run(
        [sys.executable, "-m", "edge.cli", "ncc", "demo", "--fleet", str(missing)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"brexit ncc: {missing}: cannot read: No such file or directory"]


def test_the_packaged_inventory_is_the_projects_and_a_missing_one_is_named(
        tmp_path: Path) -> None:
    assert demo_fleet(None) == load_fleet(REPO / "deploy" / "fleet.toml")
    gone = tmp_path / "ncc" / "data" / "fleet.toml"
    with pytest.raises(FleetError, match=r"demo's fleet inventory .*fleet\.toml is missing"):
        demo_fleet(None, packaged=gone)
