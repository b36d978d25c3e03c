"""`brexit fleet check` and `brexit fleet node-config`: one line per problem; configs the
node itself accepts."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from contract.fleet import FleetError, check_fleet, load_fleet, parse_fleet
from edge.cli import main
from edge.config import load_config
from edge.provision import nodeconfig
from mqtt_config.pki import make_ca

FLEET = Path("deploy/fleet.toml")

GOOD: dict[str, Any] = {
    "central": {"host": "mqtt.ncc.example", "port": 8883},
    "defaults": {
        "services": [{"code": "A", "name": "Poli Umum"}, {"code": "B", "name": "Poli Gigi"}],
        "counters": [{"number": 1, "services": ["A"]}, {"number": 2, "services": ["B"]}],
    },
    "site": [{
        "id": "janti", "name": "UPT Puskesmas Janti", "kecamatan": "Sukun",
        "network": {"mode": "static", "gateway": "192.168.10.1", "dns": ["192.168.10.1"]},
        "nodes": [
            {"id": "kios-1", "roles": ["kiosk", "broker"], "address": "192.168.10.2"},
            {"id": "loket-1", "roles": ["caller"], "counters": [1], "address": "192.168.10.11"},
            {"id": "loket-2", "roles": ["caller"], "counters": [2], "address": "192.168.10.12"},
        ],
    }],
}


def changed(path: str, value: object) -> dict[str, Any]:
    """GOOD with one field replaced: ``site.0.nodes.1.counters``."""
    doc = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    target: Any = doc
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    if last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return doc


def test_the_example_is_clean() -> None:
    assert check_fleet(parse_fleet(GOOD)) == ()


def test_the_real_inventory_is_clean() -> None:
    assert check_fleet(load_fleet(FLEET)) == ()


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (changed("site.0.nodes.0.roles", ["kiosk"]),
         ["janti: exactly one node must have the broker role (found: none)"]),
        (changed("site.0.nodes.1.roles", ["caller", "broker"]),
         ["janti: exactly one node must have the broker role (found: kios-1, loket-1)"]),
        (changed("site.0.nodes.2.id", "loket-1"),
         ["janti: node id 'loket-1' is used twice",
          "host name 'janti-loket-1' is used by more than one node"]),
        (changed("defaults.counters", [{"number": 1, "services": ["A", "Z"]},
                                       {"number": 2, "services": ["B"]}]),
         ["janti: counter 1 calls service 'Z', which the site lacks"]),
        (changed("site.0.nodes.1.counters", [3]),
         ["janti: counter 1 has no caller node",
          "janti: loket-1: counter 3 is not one of the site's counters"]),
        (changed("site.0.nodes.2.address", "192.168.10.11"),
         ["janti: address 192.168.10.11 is used twice"]),
        (changed("site.0.nodes.2.address", "10.0.0.5"),
         ["janti: loket-2: address 10.0.0.5 is outside 192.168.10.0/24"]),
        (changed("site.0.network", {"mode": "dhcp"}),
         ["janti: kios-1: address 192.168.10.2 given but the network uses DHCP",
          "janti: loket-1: address 192.168.10.11 given but the network uses DHCP",
          "janti: loket-2: address 192.168.10.12 given but the network uses DHCP"]),
        (changed("site.0.nodes.0.roles", ["kiosk", "caller", "broker"]),
         ["janti: kios-1: kiosk and caller use the same GPIO lines; give each its own node",
          "janti: kios-1: the caller role needs at least one counter"]),
        (changed("site.0.id", "ncc"),
         ["ncc: site id 'ncc' is reserved (brexit/v1/ncc/ is the NCC's namespace)"]),
        (changed("central.port", 0), ["central.port: 0 is not a TCP port"]),
        (changed("defaults.timezone", "Asia/Malang"),
         ["defaults.timezone: 'Asia/Malang' is not a time zone"]),
        (changed("site.0.network", {"mode": "dhcp", "wifi": {"ssid": "x" * 33}}),
         ["janti: network.wifi.ssid: '" + "x" * 33 + "' is longer than 32 bytes",
          "janti: kios-1: address 192.168.10.2 given but the network uses DHCP",
          "janti: loket-1: address 192.168.10.11 given but the network uses DHCP",
          "janti: loket-2: address 192.168.10.12 given but the network uses DHCP"]),
    ],
)
def test_each_problem_is_one_line(doc: dict[str, Any], expected: list[str]) -> None:
    assert sorted(check_fleet(parse_fleet(doc))) == sorted(expected)


def test_two_sites_with_one_id() -> None:
    doc = copy.deepcopy(GOOD)
    doc["site"].append(copy.deepcopy(doc["site"][0]))
    problems = check_fleet(parse_fleet(doc))
    assert "site id 'janti' is used by more than one site" in problems


def test_check_prints_problems_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                         ) -> None:
    bad = tmp_path / "fleet.toml"
    bad.write_text(tomli_w.dumps(changed("site.0.nodes.0.roles", ["kiosk"])))
    assert main(["fleet", "check", "--fleet", str(bad)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == ["janti: exactly one node must have the broker role (found: none)"]
    assert "1 problem(s)" in err
    assert main(["fleet", "check", "--fleet", str(FLEET)]) == 0
    assert "16 sites, 49 nodes, no problems" in capsys.readouterr().out


def test_a_malformed_inventory_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    bad = tmp_path / "fleet.toml"
    bad.write_text(tomli_w.dumps(changed("site.0.network", {"mode": "mesh"})))
    assert main(["fleet", "check", "--fleet", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err == "brexit fleet check: site[0].network.mode: 'mesh' is not dhcp or static\n"


def _loadable(tmp_path: Path, text: str) -> Path:
    """node.toml with its password and a real CA beside it (the node checks the PEM)."""
    (tmp_path / nodeconfig.PASSWORD_FILE).write_text("secret\n")
    ca = tmp_path / nodeconfig.CA_FILE
    if not ca.exists():
        ca.write_bytes(make_ca(tmp_path / "ca").cert.read_bytes())
    path = tmp_path / "node.toml"
    path.write_text(text)
    return path


def test_every_node_of_the_fleet_gets_a_config_the_node_accepts(tmp_path: Path) -> None:
    fleet = load_fleet(FLEET)
    supported = nodeconfig.node_roles()
    checked = 0
    for site in fleet.sites:
        for node in site.nodes:
            wanted = {nodeconfig.ROLE_MAP[r] for r in node.roles}
            if not wanted <= supported:
                with pytest.raises(FleetError, match="is not supported by this node software"):
                    nodeconfig.node_config(fleet, site.id, node.id)
                continue
            text = nodeconfig.render(nodeconfig.node_config(fleet, site.id, node.id))
            config = load_config(_loadable(tmp_path, text))
            assert (config.site, config.node) == (site.id, node.id)
            assert config.mqtt is not None and config.mqtt.username == f"node.{site.id}.{node.id}"
            assert config.mqtt.host == site.broker_host and config.mqtt.tls_ca is not None
            assert ("main" in config.roles) == ("broker" in node.roles)
            assert [s.code for s in config.services] == [s.code for s in site.services]
            checked += 1
    assert checked >= 48


def test_static_sites_reach_their_broker_by_address() -> None:
    doc = nodeconfig.node_config(load_fleet(FLEET), "janti", "loket-1")
    assert doc["mqtt"]["host"] == "192.168.10.2"
    doc = nodeconfig.node_config(load_fleet(FLEET), "dinoyo", "loket-1")
    assert doc["mqtt"]["host"] == "dinoyo-kios-1.local"


def test_node_config_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fleet", "node-config", "--site", "dinoyo", "--node", "loket-2"]) == 0
    doc = tomllib.loads(capsys.readouterr().out)
    assert (doc["node"], doc["roles"], doc["counters"][1]["number"]) == ("loket-2", ["caller"], 2)
    assert main(["fleet", "node-config", "--site", "dinoyo", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.glob("*.toml")) == [
        "kios-1.toml", "loket-1.toml", "loket-2.toml"]
    assert main(["fleet", "node-config", "--site", "sawojajar"]) == 2
    assert capsys.readouterr().err.endswith("no site 'sawojajar' in the fleet\n")
