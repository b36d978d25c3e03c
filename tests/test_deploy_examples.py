"""The example node files a technician starts from are valid configs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edge.config import load_config

EXAMPLES = sorted((Path(__file__).parent.parent / "deploy" / "examples").glob("*.toml"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_config_loads(example: Path, tmp_path: Path) -> None:
    copy = tmp_path / example.name
    shutil.copy(example, copy)
    (tmp_path / "mqtt.password").write_text("rahasia\n", encoding="utf-8")
    config = load_config(copy)
    assert config.site == "janti" and config.mqtt is not None
    assert config.mqtt.password == "rahasia"
    assert {"kiosk", "caller"} & config.roles


def test_there_are_examples_for_both_boards() -> None:
    roles = set().union(*(load_roles(p) for p in EXAMPLES))
    assert {"kiosk", "caller"} <= roles


def load_roles(path: Path) -> set[str]:
    import tomllib

    return set(tomllib.loads(path.read_text(encoding="utf-8"))["roles"])
