"""The fleet inventory: the 16 puskesmas of Kota Malang, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract.fleet import FleetError, load_fleet, parse_fleet
from contract.topics import is_valid_id

KOTA_MALANG = {
    "Sukun": {"Janti", "Ciptomulyo", "Mulyorejo"},
    "Klojen": {"Arjuno", "Bareng", "Rampal Celaket"},
    "Blimbing": {"Kendalkerep", "Cisadea", "Pandanwangi", "Polowijen"},
    "Lowokwaru": {"Dinoyo", "Kendalsari", "Mojolangu"},
    "Kedungkandang": {"Kedungkandang", "Gribig", "Arjowinangun"},
}


def test_the_inventory_holds_the_16_puskesmas_by_kecamatan() -> None:
    fleet = load_fleet(Path("deploy/fleet.toml"))
    found: dict[str, set[str]] = {}
    for site in fleet.sites:
        found.setdefault(site.kecamatan, set()).add(site.name.removeprefix("UPT Puskesmas "))
    assert found == KOTA_MALANG
    assert len({s.id for s in fleet.sites}) == 16
    assert all(is_valid_id(s.id) and s.nodes for s in fleet.sites)


def test_every_site_has_services_its_counters_call() -> None:
    for site in load_fleet(Path("deploy/fleet.toml")).sites:
        codes = {s.code for s in site.services}
        for counter in site.counters:
            assert set(counter.services) <= codes, site.id


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"site": "janti"}, "site: expected a list"),
        ({"site": [{"id": "Janti"}]}, "site[0].id: 'Janti' is not an id"),
        ({"site": [{"id": "janti"}]}, "site[0].name: expected a non-empty string"),
        (
            {"site": [{"id": "j", "name": "J", "kecamatan": "K", "nodes": [{"id": "k1"}]}]},
            "site[0].nodes[0].roles: expected a list",
        ),
        (
            {"site": [{"id": "j", "name": "J", "kecamatan": "K",
                       "nodes": [{"id": "k1", "roles": ["robot"]}]}]},
            "site[0].nodes[0].roles: unknown role 'robot'",
        ),
        ({"central": {"port": "8883"}}, "central.port: expected an integer"),
    ],
)
def test_a_bad_inventory_names_the_field(raw: dict[str, object], message: str) -> None:
    with pytest.raises(FleetError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_fleet(raw)


def test_a_missing_or_broken_file_says_which(tmp_path: Path) -> None:
    with pytest.raises(FleetError, match="cannot read"):
        load_fleet(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[site]\n")
    with pytest.raises(FleetError, match="not TOML"):
        load_fleet(bad)
