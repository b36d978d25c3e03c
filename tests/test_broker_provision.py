"""`brexit broker` input checking and the pure rendering behind it, from tables."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from mqtt_config import cli as broker_cli
from mqtt_config.bundle import BundleLayout, read_credentials
from mqtt_config.render import (
    Account,
    AccountKind,
    Credential,
    Endpoint,
    ProvisionError,
    SiteInventory,
    check_site,
    parse_credentials,
    render_credentials,
    site_accounts,
)


@pytest.mark.parametrize(
    ("value", "ok"),
    [("janti", True), ("rampal-celaket", True), ("0", True), ("a" * 32, True),
     ("a" * 33, False), ("Janti", False), ("-janti", False), ("jan.ti", False),
     ("jan ti", False), ("", False), ("ncc", False), (7, False)],
)
def test_site_ids(value: object, ok: bool) -> None:
    if ok:
        assert check_site(value) == value
    else:
        with pytest.raises(ProvisionError, match=r"^site: "):
            check_site(value)


@pytest.mark.parametrize(
    ("docs", "error"),
    [
        ([{"site": "janti", "node": "K1"}], r"config\[0\]\.node"),
        ([{"node": "k1"}], r"config\[0\]\.site"),
        ([{"site": "janti", "node": "k1"}, {"site": "arjuno", "node": "k2"}], "2 sites"),
        ([{"site": "janti", "node": "k1"}, {"site": "janti", "node": "k1"}], "duplicate"),
    ],
)
def test_bad_node_configs_name_the_field(docs: list[dict[str, object]], error: str) -> None:
    with pytest.raises(ProvisionError, match=error):
        SiteInventory.from_node_configs(docs)


def test_site_name_comes_from_either_config_spelling() -> None:
    new = {"site": "janti", "node": "k1", "site_info": {"name": "Puskesmas Janti"}}
    lead = {"site": "janti", "node": "k2", "site_name": "Puskesmas Janti"}
    assert SiteInventory.from_node_configs([new]).name == "Puskesmas Janti"
    assert SiteInventory.from_node_configs([lead]).nodes == ("k2",)
    assert SiteInventory.from_node_configs([lead]).name == "Puskesmas Janti"


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("ncc.example.id:8883", Endpoint("ncc.example.id", 8883)),
     ("127.0.0.1:1", Endpoint("127.0.0.1", 1)),
     ("ncc.example.id", None), (":8883", None), ("h:0", None), ("h:65536", None), ("h:x", None)],
)
def test_endpoints(text: str, parsed: Endpoint | None) -> None:
    if parsed:
        assert Endpoint.parse(text, "--central") == parsed
    else:
        with pytest.raises(ProvisionError, match=r"^--central: "):
            Endpoint.parse(text, "--central")


def test_usernames_of_different_kinds_never_collide() -> None:
    # a site called "staff" with a node called "janti" must not be staff of site "janti"
    names = [a.username for a in site_accounts("staff", ["janti", "bridge"])]
    names += [a.username for a in site_accounts("janti", ["staff"])] + ["ncc"]
    assert len(names) == len(set(names))


def test_credentials_round_trip() -> None:
    creds = [Credential(Account(AccountKind.NODE, "janti", "k1"), "pw-1"),
             Credential(Account(AccountKind.NCC), "pw-2")]
    assert parse_credentials(render_credentials(creds, "test")) == creds


def test_cli_refuses_bad_input_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert broker_cli.run(["ca", "--out", str(tmp_path / "ca")]) == 0
    base = ["site", "--ca", str(tmp_path / "ca"), "--out", str(tmp_path / "s"),
            "--central", "ncc:8883"]
    assert broker_cli.run([*base, "--site", "Janti", "--nodes", "k1"]) == 2
    assert "site: 'Janti'" in capsys.readouterr().err
    assert broker_cli.run([*base, "--site", "janti", "--nodes", "k1,K2"]) == 2
    assert "node: 'K2'" in capsys.readouterr().err
    assert broker_cli.run(["ca", "--out", str(tmp_path / "ca")]) == 2
    assert "refusing to replace" in capsys.readouterr().err


def test_site_bundle_from_node_configs_keeps_passwords_and_secrets_private(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configs = []
    for node in ("kiosk-1", "caller-1"):
        path = tmp_path / f"{node}.toml"
        path.write_text(f'site = "janti"\nnode = "{node}"\nroles = ["kiosk"]\n'
                        '[site_info]\nname = "Puskesmas Janti"\n', encoding="utf-8")
        configs += ["--config", str(path)]
    out = tmp_path / "janti"
    argv = ["site", *configs, "--ca", str(tmp_path / "ca"), "--out", str(out),
            "--central", "ncc.example.id:8883"]
    assert broker_cli.run(["ca", "--out", str(tmp_path / "ca")]) == 0
    assert broker_cli.run(argv) == 0
    layout = BundleLayout(out)
    first = {c.account.username: c.password for c in read_credentials(layout.credentials)}
    assert set(first) == {"node.janti.kiosk-1", "node.janti.caller-1", "staff.janti",
                          "bridge.janti"}
    assert broker_cli.run(argv) == 0  # re-run: same passwords
    again = {c.account.username: c.password for c in read_credentials(layout.credentials)}
    assert again == first
    printed = capsys.readouterr()
    assert not any(pw in printed.out + printed.err for pw in first.values())
    for secret in (layout.credentials, layout.passwd, layout.conf, out / "server.key",
                   layout.node_password("kiosk-1")):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600, secret
    assert layout.node_password("kiosk-1").read_text().strip() == first["node.janti.kiosk-1"]
    passwd = layout.passwd.read_text()
    assert not any(pw in passwd for pw in first.values())
    assert "bridge.janti" not in passwd  # the bridge logs in on the central broker only
