"""The example node files a technician starts from are valid configs, and they name the
files ``brexit broker site`` writes (one set of names: ``ca.crt``, ``nodes/<node>.password``)."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from edge.config import load_config
from mqtt_config import cli as broker_cli
from mqtt_config.bundle import BundleLayout

EXAMPLES = sorted((Path(__file__).parent.parent / "deploy" / "examples").glob("*.toml"))
# janti-farmasi-1.toml runs as it is (--simulate), its [mqtt] commented out (see
# tests/test_pharmacy_node.py)
WITH_MQTT = [p for p in EXAMPLES if "\n[mqtt]" in p.read_text(encoding="utf-8")]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> BundleLayout:
    """A site bundle made by ``brexit broker site`` from the example files themselves."""
    tmp = tmp_path_factory.mktemp("broker")
    configs = [arg for example in WITH_MQTT for arg in ("--config", str(example))]
    assert broker_cli.run(["ca", "--out", str(tmp / "ca")]) == 0
    assert broker_cli.run(["site", *configs, "--ca", str(tmp / "ca"), "--out", str(tmp / "janti"),
                           "--central", "ncc.example.id:8883"]) == 0
    return BundleLayout(tmp / "janti")


@pytest.mark.parametrize("example", WITH_MQTT, ids=lambda p: p.name)
def test_example_loads_with_the_files_the_broker_wrote(
    example: Path, bundle: BundleLayout, tmp_path: Path
) -> None:
    node = tomllib.loads(example.read_text(encoding="utf-8"))["node"]
    shutil.copy(example, tmp_path / "node.toml")  # as on the SD card: the node file and,
    (tmp_path / "nodes").mkdir()  # beside it, what the technician copies from the bundle
    shutil.copy(bundle.node_password(node), tmp_path / "nodes" / f"{node}.password")
    shutil.copy(bundle.root / "ca.crt", tmp_path / "ca.crt")
    config = load_config(tmp_path / "node.toml")
    assert config.site == "janti" and config.mqtt is not None
    assert config.mqtt.password == bundle.node_password(node).read_text().strip()
    if config.mqtt.tls_ca is not None:
        assert config.mqtt.tls_ca.read_bytes() == (bundle.root / "ca.crt").read_bytes()
    assert {"kiosk", "caller"} & config.roles


def test_there_are_examples_for_both_boards() -> None:
    roles = set().union(*(load_roles(p) for p in EXAMPLES))
    assert {"kiosk", "caller"} <= roles


def load_roles(path: Path) -> set[str]:
    return set(tomllib.loads(path.read_text(encoding="utf-8"))["roles"])
