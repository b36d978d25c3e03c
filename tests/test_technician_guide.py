"""The README's technician guide, run as written: from the inventory to a provisioned
image, with the commands it shows (a small image stands in for the golden one)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml
from diskimage import small_image

from edge.provision.bootpart import FatImage

REPO = Path(__file__).resolve().parents[1]


def guide() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("## Panduan teknisi")
    return text[start:text.index("6. **Nyalakan.**", start)]


def commands(section: str) -> list[str]:
    """The guide's shell commands: fenced blocks (with their line continuations) and the
    inline `.venv/bin/brexit …` commands."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S):
        joined = re.sub(r"\\\n\s*", "", block)
        found += [ln.strip() for ln in joined.splitlines() if ln.strip()]
    found += re.findall(r"`(\.venv/bin/brexit (?:broker ca|fleet node-config) [^`]*)`",
                        section)
    order = ("fleet check", "broker ca", "broker site", "node-config", "provision")
    return sorted(found, key=lambda c: next(i for i, k in enumerate(order) if k in c))


def test_the_guide_goes_from_inventory_to_a_provisioned_image(tmp_path: Path) -> None:
    steps = commands(guide())
    assert [" ".join(s.split()[1:3]) for s in steps] == [
        "fleet check", "broker ca", "broker site", "fleet node-config", "provision --fleet"]
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    os.symlink(shutil.which("brexit") or REPO / ".venv/bin/brexit",
               tmp_path / ".venv/bin/brexit")
    shutil.copytree(REPO / "deploy", tmp_path / "deploy")
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519.pub").write_text(
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGuideTestKey teknisi@laptop\n")
    small_image(tmp_path / "golden.img")
    env = {**os.environ, "HOME": str(home)}
    for step in steps:
        done = subprocess.run(["bash", "-c", step], cwd=tmp_path, env=env,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{step}\n{done.stdout}{done.stderr}"
    fat = FatImage.of(tmp_path / "dinoyo-kios-1.img")
    assert yaml.safe_load(fat.read("user-data"))["hostname"] == "dinoyo-kios-1"
    assert b'node = "kios-1"' in fat.read("brexit/node.toml")
