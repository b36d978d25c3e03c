"""The node's config check: a bad file is one line naming the field (docs/config.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edge.config import ConfigError, parse_config

ROOT = Path(__file__).resolve().parents[1]


def node(**extra: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "site": "janti", "node": "kios-1", "site_name": "UPT Puskesmas Janti",
        "roles": ["kiosk"],
        "services": [{"code": "A", "name": "Poli Umum"}, {"code": "C", "name": "KIA"}],
    }  # fmt: skip
    raw.update(extra)
    return raw


def refused(raw: dict[str, Any], base: Path | None = None) -> str:
    with pytest.raises(ConfigError) as err:
        parse_config(raw, source="node.toml", base=base)
    message = str(err.value)
    assert "\n" not in message
    return message


def service(**fields: str) -> list[dict[str, str]]:
    return [{"code": "A", "name": "Poli Umum", **fields}]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (node(pinmap="nope.toml"), "node.toml: pinmap: cannot read "),
        (node(services=service(button="service-99")),
         "node.toml: services[0].button: the kiosk board has no button 'service-99'"),
        (node(services=service(name="Poli Gigi 😀")),
         "node.toml: services[0].name: Indonesian Braille cannot write '😀' (character 11"),
        (node(services=service(braille_label="Gigi ß")),
         "node.toml: services[0].braille_label: Indonesian Braille cannot write 'ß'"),
        (node(services=service(spoken_name="")), "node.toml: services[0].spoken_name: "),
        (node(services=service(spoken_name="ka\ni a")), "node.toml: services[0].spoken_name: "),
        (node(buttons={"double_tap_ms": -1}), "node.toml: buttons.double_tap_ms: "),
        (node(cells={"message_s": -5}), "node.toml: cells.message_s: "),
    ],
)  # fmt: skip
def test_refused_with_the_field(raw: dict[str, Any], message: str) -> None:
    assert refused(raw, base=ROOT).startswith(message)


def test_a_pin_map_that_is_not_one_names_the_field(tmp_path: Path) -> None:
    (tmp_path / "pins.toml").write_text("boards = 3\n")
    assert refused(node(pinmap="pins.toml"), base=tmp_path).startswith("node.toml: pinmap: ")


def test_a_counter_the_pin_map_lacks_names_the_field(tmp_path: Path) -> None:
    pins = "".join(
        f'[[boards.counter.lines]]\nname = "{a}-1"\nkind = "button"\ngpio = {g}\npin = {p}\n'
        f'pull = "up"\nlabel = "{a}"\n'
        for a, g, p in (("next", 5, 29), ("recall", 6, 31), ("skip", 12, 32), ("done", 13, 33))
    )
    (tmp_path / "pins.toml").write_text(pins)
    raw = node(roles=["caller"], pinmap="pins.toml",
               counters=[{"number": 1, "services": ["A"]}, {"number": 2, "services": ["C"]}])
    message = refused(raw, base=tmp_path)
    assert message.startswith("node.toml: counters[1].number: the counter board has no "
                              "button 'next-2' (it has: done-1, next-1, recall-1, skip-1)")


def test_what_braille_can_write_is_accepted() -> None:
    raw = node(services=[{"code": "A", "name": "Ibu & Anak", "braille_label": "Café 100%"}])
    config = parse_config(raw, source="node.toml")
    assert config.services[0].name == "Ibu & Anak"


def test_new_fields_reach_the_config() -> None:
    raw = node(buttons={"double_tap_ms": 50}, cells={"message_s": 90},
               services=service(spoken_name="poli umum"))  # fmt: skip
    config = parse_config(raw, source="node.toml")
    assert config.buttons.double_tap_s == pytest.approx(0.05)
    assert config.cells.message_s == 90
    assert config.services[0].spoken_name == "poli umum"
    assert parse_config(node(), source="x").buttons.double_tap_s == 0.5


@pytest.mark.parametrize(
    ("toml", "field"),
    [('pinmap = "nope.toml"', "pinmap"), ('button = "service-99"', "services[0].button")],
)
def test_brexit_node_refuses_in_one_line(toml: str, field: str, tmp_path: Path) -> None:
    text = (
        'site = "janti"\nnode = "k1"\nsite_name = "Janti"\nroles = ["kiosk"]\n'
        + (toml + "\n" if toml.startswith("pinmap") else "")
        + '[[services]]\ncode = "A"\nname = "Poli Umum"\n'
        + (toml + "\n" if toml.startswith("button") else "")
    )
    (tmp_path / "node.toml").write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "edge.cli", "node", "--simulate", "--config",
         str(tmp_path / "node.toml"), "--data", str(tmp_path / "data")],
        cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"brexit node: {tmp_path / 'node.toml'}: {field}: ")
