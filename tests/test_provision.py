"""`brexit provision`: a node's seed in a copy of the golden image's FAT partition (read
back with mtools) or in a mounted boot directory; cloud-init accepts every user-data."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from diskimage import small_image

from contract.fleet import load_fleet
from edge.cli import main
from edge.config import load_config
from edge.provision import nodeconfig
from edge.provision.bootpart import BootPartitionError, FatImage, fat_partition, parse_mbr
from edge.provision.cloudinit import NoCloud, network_config, render_user_data, user_data
from edge.provision.seed import NodeIdentity, build_seed
from mqtt_config import cli as broker_cli
from mqtt_config.bundle import BundleLayout

FLEET = Path("deploy/fleet.toml")
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBrexitTeknisiKeyForTestsOnly teknisi@laptop"
needs_cloud_init = pytest.mark.skipif(shutil.which("cloud-init") is None,
                                      reason="cloud-init (Debian package) is installed by "
                                      "setup.sh --dev")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Dinoyo's site broker bundle, made by `brexit broker` from the derived node configs."""
    root = tmp_path_factory.mktemp("fleet")
    assert broker_cli.run(["ca", "--out", str(root / "ca")]) == 0
    assert main(["fleet", "node-config", "--site", "dinoyo", "--out", str(root / "cfg")]) == 0
    configs = [a for p in sorted((root / "cfg").glob("*.toml")) for a in ("--config", str(p))]
    assert broker_cli.run(["site", *configs, "--ca", str(root / "ca"), "--central",
                           "mqtt.ncc.example:8883", "--host", "dinoyo-kios-1.local",
                           "--out", str(root / "dinoyo")]) == 0
    return root / "dinoyo"


@pytest.fixture
def golden(tmp_path: Path) -> Path:
    path = tmp_path / "golden.img"
    small_image(path)
    return path


@pytest.fixture
def ssh_key(tmp_path: Path) -> Path:
    path = tmp_path / "id_ed25519.pub"
    path.write_text(KEY + "\n")
    return path


def provision(bundle: Path, ssh_key: Path, *where: str, node: str = "kios-1",
              site: str = "dinoyo") -> int:
    return main(["provision", "--fleet", str(FLEET), "--site", site, "--node", node,
                 "--bundle", str(bundle), "--ssh-key", str(ssh_key), *where])


def read_seed(image: Path) -> dict[str, bytes]:
    fat = FatImage.of(image)
    names = ("user-data", "network-config", "meta-data", "brexit/node.toml",
             "brexit/mqtt.password", "brexit/ca.crt")
    return {n: fat.read(n) for n in names}


def test_image_gets_the_seed_and_the_golden_image_is_untouched(
        bundle: Path, golden: Path, ssh_key: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    before = hashlib.sha256(golden.read_bytes()).hexdigest()
    out = tmp_path / "dinoyo-kios-1.img"
    assert provision(bundle, ssh_key, "--image", str(golden), "--out", str(out)) == 0
    assert hashlib.sha256(golden.read_bytes()).hexdigest() == before
    printed = capsys.readouterr().out
    seed = read_seed(out)
    password = BundleLayout(bundle).node_password("kios-1").read_text().strip()
    assert password not in printed  # nothing secret on screen

    ud = seed["user-data"].decode()
    assert ud.startswith("#cloud-config\n")
    doc = yaml.safe_load(ud)
    assert doc["hostname"] == "dinoyo-kios-1"
    assert doc["timezone"] == "Asia/Jakarta" and doc["locale"] == "id_ID.UTF-8"
    assert doc["ntp"]["servers"] == list(load_fleet(FLEET).ntp)
    assert doc["users"][0]["name"] == "teknisi"
    assert doc["users"][0]["ssh_authorized_keys"] == [KEY]
    assert yaml.safe_load(seed["network-config"]) == {
        "version": 2, "ethernets": {"eth0": {"dhcp4": True, "optional": True}}}
    meta = yaml.safe_load(seed["meta-data"])
    assert meta["local-hostname"] == "dinoyo-kios-1"
    assert meta["instance-id"].startswith("brexit-dinoyo-kios-1-")
    assert meta["instance-id"] in printed

    # The node's own login only: its password, the fleet CA, no other account.
    assert seed["brexit/mqtt.password"].decode().strip() == password
    assert seed["brexit/ca.crt"] == BundleLayout(bundle).ca_cert.read_bytes()
    others = [p.read_text().strip() for p in (bundle / "nodes").glob("*.password")
              if p.name != "kios-1.password"]
    blob = b"".join(seed.values()).decode()
    assert others and not any(o in blob for o in others)
    fat = FatImage.of(out)
    assert not fat.exists("brexit/credentials.toml")
    assert not fat.exists("brexit/mosquitto/credentials.toml")
    # kios-1 runs the site broker: its bundle comes along, byte for byte.
    for name in ("mosquitto.conf", "passwd", "acl", "clientids", "ca.crt", "server.crt",
                 "server.key"):
        assert fat.read(f"brexit/mosquitto/{name}") == (bundle / name).read_bytes(), name

    # node.toml is what the node loads at boot.
    for name in ("node.toml", "mqtt.password", "ca.crt"):
        (tmp_path / name).write_bytes(seed[f"brexit/{name}"])
    config = load_config(tmp_path / "node.toml")
    assert (config.site, config.node, config.site_name) == (
        "dinoyo", "kios-1", "UPT Puskesmas Dinoyo")
    assert config.roles == {"kiosk", "main"}
    assert config.mqtt is not None and config.mqtt.password == password


def test_instance_id_follows_the_seed(bundle: Path, golden: Path, ssh_key: Path,
                                      tmp_path: Path) -> None:
    ids = []
    for i in range(2):
        out = tmp_path / f"n{i}.img"
        assert provision(bundle, ssh_key, "--image", str(golden), "--out", str(out)) == 0
        ids.append(yaml.safe_load(FatImage.of(out).read("meta-data"))["instance-id"])
    ssh_key.write_text(KEY.replace("teknisi@laptop", "teknisi2@laptop") + "\n")
    out = tmp_path / "n2.img"
    assert provision(bundle, ssh_key, "--image", str(golden), "--out", str(out)) == 0
    ids.append(yaml.safe_load(FatImage.of(out).read("meta-data"))["instance-id"])
    assert ids[0] == ids[1] != ids[2]


@pytest.fixture
def strict_umask() -> Iterator[None]:
    """The node's process runs with umask 077; seed files' modes must not depend on it."""
    old = os.umask(0o077)
    yield
    os.umask(old)


@pytest.mark.usefixtures("strict_umask")
def test_boot_dir_writes_secrets_0600_and_rewrites_in_place(
        bundle: Path, ssh_key: Path, tmp_path: Path) -> None:
    boot = tmp_path / "bootfs"
    boot.mkdir()
    (boot / "config.txt").write_text("arm_64bit=1\n")
    assert provision(bundle, ssh_key, "--boot-dir", str(boot), node="kios-1") == 0
    assert (boot / "brexit" / "mosquitto" / "mosquitto.conf").is_file()
    # The same card made a counter node: the broker's files must not stay behind.
    assert provision(bundle, ssh_key, "--boot-dir", str(boot), node="loket-1") == 0
    assert not (boot / "brexit" / "mosquitto").exists()  # not the broker's node
    assert stat.S_IMODE((boot / "brexit" / "node.toml").stat().st_mode) == 0o600
    assert stat.S_IMODE((boot / "brexit" / "mqtt.password").stat().st_mode) == 0o600
    assert stat.S_IMODE((boot / "user-data").stat().st_mode) == 0o644
    assert provision(bundle, ssh_key, "--boot-dir", str(boot), node="loket-2") == 0
    assert "node = \"loket-2\"" in (boot / "brexit" / "node.toml").read_text()
    assert (boot / "config.txt").read_text() == "arm_64bit=1\n"
    assert not list(boot.rglob("*.tmp"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--node", "loket-9", "--boot-dir", "."], "site dinoyo: no node 'loket-9'"),
        (["--image", "{golden}"], "--out: give the file to write the node's image to"),
        (["--image", "{tmp}/none.img", "--out", "{tmp}/x.img"], "is not a file"),
        (["--image", "{tmp}/notadisk.img", "--out", "{tmp}/x.img"], "no MBR partition table"),
        (["--image", "{golden}", "--out", "{golden}"], "must not be the golden image"),
        (["--boot-dir", "{tmp}/missing"], "is not a directory"),
        (["--bundle", "{tmp}", "--boot-dir", "{tmp}"], "has no loket-1.password"),
        (["--ssh-key", "{tmp}/id_ed25519", "--boot-dir", "{tmp}"],
         "is not an SSH public key (a private key? use the .pub file)"),
        (["--site", "polowijen", "--boot-dir", "{tmp}"],
         "--wifi-password-file: polowijen uses Wi-Fi 'BREXIT-Polowijen'"),
    ],
)
def test_bad_input_is_one_line(bundle: Path, golden: Path, ssh_key: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str], args: list[str],
                               message: str) -> None:
    (tmp_path / "notadisk.img").write_bytes(b"\0" * 4096)
    (tmp_path / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nx\n")
    argv = ["provision", "--fleet", str(FLEET), "--site", "dinoyo", "--node", "loket-1",
            "--bundle", str(bundle), "--ssh-key", str(ssh_key)]
    argv += [a.format(golden=golden, tmp=tmp_path) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("brexit provision: ") and message in err
    assert "Traceback" not in err
    assert not (tmp_path / "x.img").exists()


def test_mbr_table() -> None:
    from diskimage import mbr
    parts = parse_mbr(mbr([(0x0C, 4 << 20, 256 << 20), (0x83, 260 << 20, 2 << 30)]))
    assert [(p.number, p.kind, p.start, p.size) for p in parts] == [
        (1, 0x0C, 4 << 20, 256 << 20), (2, 0x83, 260 << 20, 2 << 30)]
    with pytest.raises(BootPartitionError, match="GPT"):
        parse_mbr(mbr([(0xEE, 512, 1 << 30)]))
    with pytest.raises(BootPartitionError, match="no MBR"):
        parse_mbr(bytes(512))


def test_image_without_fat_partition(tmp_path: Path) -> None:
    from diskimage import mbr
    img = tmp_path / "linux-only.img"
    img.write_bytes(mbr([(0x83, 4 << 20, 1 << 20)]) + bytes(4 << 20))
    with pytest.raises(BootPartitionError, match="no FAT partition"):
        fat_partition(img)


def identities() -> list[NodeIdentity]:
    fleet = load_fleet(FLEET)
    found = []
    for site in fleet.sites:
        for node in site.nodes:
            found.append(NodeIdentity(fleet=fleet, site=site, node=node, node_toml="",
                                      mqtt_password="x", ca_pem=b"", ssh_keys=(KEY,),
                                      wifi_password="rahasia-wifi"))
    return found


@needs_cloud_init
def test_cloud_init_accepts_every_user_data_of_the_fleet(tmp_path: Path) -> None:
    for ident in identities():
        path = tmp_path / f"{ident.hostname}.yaml"
        path.write_text(render_user_data(user_data(ident)))
        done = subprocess.run(["cloud-init", "schema", "--config-file", str(path)],
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, (ident.hostname, done.stdout + done.stderr)


@needs_cloud_init
def test_cloud_init_schema_catches_a_broken_user_data(tmp_path: Path) -> None:
    doc = user_data(identities()[0])
    doc["ntp"]["enabled"] = "ya"
    path = tmp_path / "bad.yaml"
    path.write_text(render_user_data(doc))
    done = subprocess.run(["cloud-init", "schema", "--config-file", str(path)],
                          capture_output=True, text=True, check=False)
    assert done.returncode != 0 and "ntp.enabled" in done.stdout + done.stderr


def test_network_configs_of_static_and_wifi_sites() -> None:
    fleet = load_fleet(FLEET)
    janti = fleet.site("janti")
    net = network_config(janti.network, janti.node("loket-1").address)
    assert net["ethernets"]["eth0"] == {
        "addresses": ["192.168.10.11/24"],
        "routes": [{"to": "0.0.0.0/0", "via": "192.168.10.1"}],
        "nameservers": {"addresses": ["192.168.10.1"]},
        "optional": True,
    }
    polowijen = fleet.site("polowijen")
    net = network_config(polowijen.network, None, "rahasia-wifi")
    assert net["wifis"]["wlan0"]["access-points"] == {
        "BREXIT-Polowijen": {"password": "rahasia-wifi"}}
    wifi = next(i for i in identities() if i.site.id == "polowijen")
    files = {f.path: f for f in build_seed(wifi, NoCloud())}
    assert files["network-config"].secret and files["brexit/mqtt.password"].secret


def test_seed_files_are_node_toml_and_its_secrets_only() -> None:
    ident = identities()[0]
    paths = sorted(f.path for f in build_seed(ident, NoCloud()))
    assert paths == ["brexit/ca.crt", "brexit/mqtt.password", "brexit/node.toml",
                     "meta-data", "network-config", "user-data"]
    assert nodeconfig.PASSWORD_FILE == "mqtt.password"
