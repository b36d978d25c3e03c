"""The example node files a technician starts from are valid configs."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from edge.config import load_config
from mqtt_config.pki import make_ca

EXAMPLES = sorted((Path(__file__).parent.parent / "deploy" / "examples").glob("*.toml"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_config_loads(example: Path, tmp_path: Path) -> None:
    copy = tmp_path / example.name
    shutil.copy(example, copy)
    (tmp_path / "mqtt.password").write_text("rahasia\n", encoding="utf-8")
    tls_ca = tomllib.loads(example.read_text(encoding="utf-8"))["mqtt"].get("tls_ca")
    if tls_ca is not None:  # the node refuses to start without its CA file
        (tmp_path / "ca").mkdir()
        shutil.copy(make_ca(tmp_path / "ca").cert, tmp_path / tls_ca)
    config = load_config(copy)
    assert config.site == "janti" and config.mqtt is not None
    assert config.mqtt.password == "rahasia"
    assert {"kiosk", "caller"} & config.roles


def test_there_are_examples_for_both_boards() -> None:
    roles = set().union(*(load_roles(p) for p in EXAMPLES))
    assert {"kiosk", "caller"} <= roles


def load_roles(path: Path) -> set[str]:
    return set(tomllib.loads(path.read_text(encoding="utf-8"))["roles"])
