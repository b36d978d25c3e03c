"""`brexit broker` input checking and the pure rendering behind it, from tables."""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from contract.fleet import load_fleet
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


# --- options and names are checked: one line, exit 2, never a traceback --------------------

@pytest.fixture
def ca_dir(tmp_path: Path) -> Path:
    assert broker_cli.run(["ca", "--out", str(tmp_path / "ca")]) == 0
    return tmp_path / "ca"


def _site_argv(tmp_path: Path, ca: Path, *extra: str) -> list[str]:
    return ["site", "--site", "janti", "--nodes", "k1", "--ca", str(ca),
            "--out", str(tmp_path / "janti"), "--central", "ncc.example.id:8883", *extra]


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        (["--restart-timeout", "abc"], "--restart-timeout: 'abc'"),
        (["--restart-timeout", "30 5"], "--restart-timeout: '30 5'"),
        (["--restart-timeout", "0"], "--restart-timeout: '0'"),
        (["--max-queued", "-1"], "--max-queued: -1 is below 0"),
        (["--autosave-interval", "-5"], "--autosave-interval: -5"),
        (["--autosave-interval", "1.5"], "--autosave-interval: '1.5' is not a whole number"),
        (["--message-size-limit", "10"], "--message-size-limit: 10 is below 1024"),
        (["--lan-port", "0"], "--lan-port: port 0"),
        (["--tls-port", "65536"], "--tls-port: port 65536"),
        (["--lan-port", "abc"], "--lan-port: 'abc' is not a whole number"),
        (["--lan-port", "1884", "--tls-port", "1884"], "--tls-port: 1884 is also --lan-port"),
        (["--lan-bind", "999.1.1.1"], "--lan-bind: '999.1.1.1' is not an IP address"),
        (["--tls-bind", "0.0.0.0\nlistener 1"], "--tls-bind: "),
        (["--host", "bad host"], "--host: 'bad host' is neither"),
        (["--host=-x.example.id"], "--host: '-x.example.id'"),
        (["--host", "a" * 64 + ".id"], "--host: "),
        (["--site-name", "Janti\nlistener 1 0.0.0.0"], "site_name: "),
        (["--site-name", "Janti\u202e"], "site_name: "),
        (["--run-user", "root\nuser x"], "--run-user: "),
        (["--data-dir", "/var/x\nallow_anonymous true"], "--data-dir: "),
        (["--install-dir", "/etc/x\rpassword_file /tmp/p"], "--install-dir: "),
        (["--max-queued", "9" * 30], "--max-queued: " + "9" * 30 + " is above"),
        (["--plugin", ""], "--plugin: "),
        (["--plugin", "/usr/lib/x.so\nlistener 1"], "--plugin: "),
    ],
)
def test_site_options_are_checked(
    tmp_path: Path, ca_dir: Path, capsys: pytest.CaptureFixture[str],
    extra: list[str], error: str,
) -> None:
    assert broker_cli.run(_site_argv(tmp_path, ca_dir, *extra)) == 2
    err = capsys.readouterr().err
    assert error in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "janti" / "mosquitto.conf").exists()


@pytest.mark.parametrize(
    ("central", "error"),
    [("bad_host:8883", "--central: 'bad_host'"), ("ncc.example.id:0", "--central: "),
     ("ncc\n.id:8883", "--central: ")],
)
def test_central_endpoint_is_checked(
    tmp_path: Path, ca_dir: Path, capsys: pytest.CaptureFixture[str], central: str, error: str
) -> None:
    argv = _site_argv(tmp_path, ca_dir)
    argv[argv.index("ncc.example.id:8883")] = central
    assert broker_cli.run(argv) == 2
    assert error in capsys.readouterr().err


def test_a_site_name_in_a_node_config_cannot_inject_config_lines(
    tmp_path: Path, ca_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "k1.toml"
    config.write_text('site = "janti"\nnode = "k1"\n[site_info]\n'
                      'name = "Janti\\nallow_anonymous true"\n', encoding="utf-8")
    argv = ["site", "--config", str(config), "--ca", str(ca_dir), "--out", str(tmp_path / "o"),
            "--central", "ncc.example.id:8883"]
    assert broker_cli.run(argv) == 2
    assert "config[0].site_info.name: " in capsys.readouterr().err
    config.write_text('site = "janti"\nnode = "k1"\n[site_info\n', encoding="utf-8")
    assert broker_cli.run(argv) == 2
    assert f"--config: {config}: " in capsys.readouterr().err
    config.write_bytes(b"\xff\xfe")
    assert broker_cli.run(argv) == 2
    assert f"--config: {config}: 'utf-8' codec" in capsys.readouterr().err


def test_central_options_are_checked(
    tmp_path: Path, ca_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert broker_cli.run(_site_argv(tmp_path, ca_dir)) == 0
    base = ["central", "--site-dir", str(tmp_path / "janti"), "--ca", str(ca_dir),
            "--out", str(tmp_path / "central")]
    capsys.readouterr()
    for extra, error in ((["--port", "0"], "--port: port 0"),
                         (["--bind", "everywhere"], "--bind: 'everywhere'")):
        assert broker_cli.run([*base, *extra]) == 2
        assert error in capsys.readouterr().err


def test_the_same_site_twice_makes_each_user_once(
    tmp_path: Path, ca_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert broker_cli.run(_site_argv(tmp_path, ca_dir)) == 0
    janti = str(tmp_path / "janti")
    argv = ["central", "--site-dir", janti, "--site-dir", janti, "--site-dir", janti + "/",
            "--ca", str(ca_dir), "--out", str(tmp_path / "central")]
    assert broker_cli.run(argv) == 0
    layout = BundleLayout(tmp_path / "central")
    users = [line.split(":")[0] for line in layout.passwd.read_text().splitlines()]
    assert sorted(users) == ["bridge.janti", "ncc", "staff.janti"]
    assert layout.acl.read_text().count("user staff.janti\n") == 1
    # another bundle for the same site (other passwords) cannot both be the site's
    other = _site_argv(tmp_path, ca_dir)
    other[other.index("--out") + 1] = str(tmp_path / "janti-again")
    assert broker_cli.run(other) == 0
    argv[4] = str(tmp_path / "janti-again")
    capsys.readouterr()
    assert broker_cli.run(argv) == 2
    assert "site 'janti' is in both" in capsys.readouterr().err


def test_cli_errors_are_one_line_from_the_real_command(tmp_path: Path, ca_dir: Path) -> None:
    brexit = Path(sys.executable).with_name("brexit")
    for extra in (["--restart-timeout", "abc"], ["--lan-port", "0"], ["--host", "a b"]):
        done = subprocess.run([str(brexit), "broker", *_site_argv(tmp_path, ca_dir, *extra)],
                              capture_output=True, text=True, check=False)
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr


def test_install_makes_the_persistence_directory_for_the_broker_user(
    tmp_path: Path, ca_dir: Path
) -> None:
    data, install_dir = tmp_path / "var" / "mosquitto", tmp_path / "etc" / "mosquitto"
    assert broker_cli.run(_site_argv(tmp_path, ca_dir, "--data-dir", str(data),
                                     "--install-dir", str(install_dir))) == 0
    dropins = tmp_path / "mosquitto.service.d"
    assert broker_cli.run(["install", "--bundle", str(tmp_path / "janti"),
                           "--systemd", str(dropins)]) == 0
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert f"ExecStart=/usr/sbin/mosquitto -c {install_dir / 'mosquitto.conf'}\n" in (
        dropins / "brexit.conf").read_text()
    for name in ("mosquitto.conf", "passwd", "acl", "clientids", "server.key"):
        assert (install_dir / name).read_bytes() == (tmp_path / "janti" / name).read_bytes()
    assert not (install_dir / "credentials.toml").exists()
    try:
        owner = pwd.getpwnam("mosquitto").pw_uid
    except KeyError:
        pytest.skip("no mosquitto user here: ownership is only given to an existing user")
    if os.geteuid() != 0:
        pytest.skip("not root: files cannot be given to the mosquitto user")
    assert data.stat().st_uid == owner
    assert (install_dir / "server.key").stat().st_uid == owner


def test_site_bundle_from_the_fleet_inventory(
    tmp_path: Path, ca_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet_path = Path(__file__).resolve().parents[1] / "deploy" / "fleet.toml"
    site = load_fleet(fleet_path).site("janti")
    out = tmp_path / "janti"
    base = ["site", "--fleet", str(fleet_path), "--ca", str(ca_dir), "--out", str(out)]
    assert broker_cli.run([*base, "--site", "janti"]) == 0
    users = {c.account.username for c in read_credentials(BundleLayout(out).credentials)}
    assert users == {*(f"node.janti.{n.id}" for n in site.nodes), "staff.janti", "bridge.janti"}
    conf = BundleLayout(out).conf.read_text()
    assert f"for {site.name} (janti)" in conf
    assert "address mqtt.ncc.malangkota.go.id:8883\n" in conf
    capsys.readouterr()
    for extra, error in ((["--site", "atlantis"], "--fleet: no site 'atlantis'"),
                         (["--site", "janti", "--nodes", "k1"], "--fleet: the fleet names"),
                         ([], "--fleet: give --site")):
        assert broker_cli.run([*base, *extra]) == 2
        err = capsys.readouterr().err
        assert error in err and err.count("\n") == 1
