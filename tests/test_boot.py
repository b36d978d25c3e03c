"""Proof by booting it: the technician's path end to end on a stand-in golden image.

A Debian arm64 root filesystem with BREXIT installed the way the pi-gen stage installs it
(``tests/standin.py``), a node seed written by ``brexit provision`` into the image's FAT
partition, then ``qemu-system-aarch64 -M virt`` boots it. cloud-init applies the seed,
the first-boot self-test runs (simulate mode: the VM has no devices and no sound card),
the node's unit comes up with its watchdog, and a test-only unit records what it sees on
the boot partition and powers off. The test reads both reports back with mtools.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import standin
from wheel import REPO, build_wheel

from edge.provision.bootpart import FatImage

pytestmark = pytest.mark.slow

SITE, NODE = "dinoyo", "kios-1"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBrexitBootTestKeyOnly teknisi@laptop"
BOOT_TIMEOUT_S = 1500

# The VM has no GPIO and no devices: gpiozero's own variable picks mock pins, and the
# self-test runs in simulate mode. Everything else is the unit as the image ships it.
DROPINS = {
    "etc/systemd/system/brexit-node.service.d/boot-test.conf":
        "[Service]\nEnvironment=GPIOZERO_PIN_FACTORY=mock\n",
    "etc/systemd/system/brexit-selftest.service.d/boot-test.conf":
        "[Service]\nEnvironment=BREXIT_SELFTEST_ARGS=--simulate\n",
    "etc/systemd/system/brexit-boot-test.service": """\
[Unit]
Description=BREXIT boot test: record what the booted node is, then power off
After=brexit-node.service brexit-selftest.service brexit-site-broker.service
After=cloud-final.service
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/brexit-boot-test
StandardOutput=journal+console
[Install]
WantedBy=cloud-init.target
""",
    "etc/systemd/system/cloud-init.target.wants/brexit-boot-test.service": "@symlink:"
        "/etc/systemd/system/brexit-boot-test.service",
    "usr/local/sbin/brexit-boot-test": """\
#!/bin/sh
# Written by the boot test into its stand-in image only.
out=/boot/firmware/brexit/boottest.txt
unit=brexit-node.service
show() { systemctl show -p "$2" --value "$1"; }
{
  echo "hostname=$(hostname)"
  echo "timezone=$(readlink /etc/localtime | sed 's|.*/zoneinfo/||')"
  echo "admin_groups=$(id -nG teknisi)"
  echo "admin_key=$(head -1 /home/teknisi/.ssh/authorized_keys)"
  echo "brexit_groups=$(id -nG brexit)"
  echo "instance_id=$(cat /var/lib/cloud/data/instance-id)"
  echo "cloud_init=$(cloud-init status | tr '\\n' ' ')"
  echo "locale=$(grep -h '^LANG=' /etc/default/locale)"
  echo "ntp=$(grep -rh '^NTP=' /etc/systemd/timesyncd.conf.d/ 2>/dev/null | head -1)"
  echo "boot_mount=$(findmnt -no OPTIONS /boot/firmware)"
  echo "node_active=$(systemctl is-active $unit)"
  echo "node_user=$(ps -o user= -p "$(show $unit MainPID)")"
  echo "broker_active=$(systemctl is-active brexit-site-broker.service)"
  # The node's birth, read back from its site broker over TLS with the node's own login
  # (and a client id of its own: the broker binds client ids to logins).
  seed=/boot/firmware/brexit
  echo "node_status=$(mosquitto_sub -h "$(hostname).local" -p 8883 --cafile $seed/ca.crt \\
    -u "node.@SITE@.@NODE@" -P "$(cat $seed/mqtt.password)" \\
    -i brexit-@SITE@-@NODE@-boottest \\
    -t "brexit/v1/@SITE@/@NODE@/status" -C 1 -W 120 2>&1)"
  st=brexit-selftest.service
  echo "selftest=$(show $st Result) $(show $st ExecMainStatus)"
  echo "verify=$(systemd-analyze verify $unit $st 2>&1 | tr '\\n' ' ')"
  echo "exposure=$(systemd-analyze security $unit --no-pager | tail -1)"
  # A hung node: freeze it; the watchdog must kill it and systemd start it again.
  before=$(show $unit NRestarts)
  kill -STOP "$(show $unit MainPID)"
  i=0
  while [ $i -lt 150 ]; do
    sleep 2; i=$((i + 1))
    [ "$(show $unit NRestarts)" -gt "$before" ] && \\
      [ "$(systemctl is-active $unit)" = active ] && break
  done
  echo "watchdog_restarts=$(( $(show $unit NRestarts) - before ))"
  echo "watchdog_log=$(journalctl -b -u $unit --no-pager | grep -c 'Watchdog timeout')"
  echo "node_active_after=$(systemctl is-active $unit)"
} > "$out" 2>&1
journalctl -b --no-pager -u $unit -u brexit-selftest.service -u cloud-init.service \\
  -u cloud-config.service -u cloud-final.service | tail -n 200 > /boot/firmware/brexit/journal.txt
sync
systemctl poweroff
""".replace("@SITE@", SITE).replace("@NODE@", NODE),
}


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("boot")


def brexit(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge.cli", *args], cwd=cwd,
                          capture_output=True, text=True, check=False)


def bundle(work: Path) -> Path:
    """The technician's steps before provisioning: the fleet CA, the site's broker bundle."""
    assert brexit("broker", "ca", "--out", str(work / "ca")).returncode == 0
    done = brexit("broker", "site", "--fleet", "deploy/fleet.toml", "--site", SITE,
                  "--ca", str(work / "ca"), "--host", f"{SITE}-{NODE}.local",
                  "--out", str(work / "broker"))
    assert done.returncode == 0, done.stderr
    return work / "broker"


def boot(work: Path, image: Path, kernel: Path, initrd: Path) -> float:
    console = work / "console.log"
    argv = ["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a72", "-smp", "2",
            "-m", "1536", "-nographic", "-no-reboot",
            "-kernel", str(kernel), "-initrd", str(initrd),
            "-append", "root=/dev/vda2 rootwait console=ttyAMA0 net.ifnames=0",
            "-drive", f"file={image},format=raw,if=virtio",
            "-nic", "user,model=virtio-net-pci,restrict=on",
            "-device", "virtio-rng-pci"]
    start = time.monotonic()
    with console.open("wb") as out:
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=subprocess.STDOUT, timeout=BOOT_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            pytest.fail("the VM did not power off in time; console:\n" + _tail(console))
    assert done.returncode == 0, _tail(console)
    return time.monotonic() - start


def _tail(path: Path, lines: int = 60) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def parse(text: str) -> dict[str, str]:
    return dict(ln.split("=", 1) for ln in text.splitlines() if "=" in ln)


def test_provisioned_image_boots_into_the_node(work: Path) -> None:
    try:
        standin.check_host()
    except standin.StandinError as e:
        pytest.fail(f"the boot test cannot run on this machine: {e}")
    t0 = time.monotonic()
    image = standin.build(build_wheel(), work, DROPINS)
    built = time.monotonic() - t0
    key = work / "teknisi.pub"
    key.write_text(KEY + "\n")
    node_img = work / f"{SITE}-{NODE}.img"
    done = brexit("provision", "--site", SITE, "--node", NODE, "--bundle", str(bundle(work)),
                  "--ssh-key", str(key), "--image", str(image.image), "--out", str(node_img))
    assert done.returncode == 0, done.stderr
    instance = FatImage.of(node_img).read("meta-data").decode().split()[1]
    booted = boot(work, node_img, image.kernel, image.initrd)
    print(f"\nboot test: image {built:.0f} s, boot to power-off {booted:.0f} s")

    fat = FatImage.of(node_img)
    journal = fat.read("brexit/journal.txt").decode(errors="replace") \
        if fat.exists("brexit/journal.txt") else "(no journal)"
    assert fat.exists("brexit/boottest.txt"), _tail(work / "console.log")
    seen = parse(fat.read("brexit/boottest.txt").decode())
    context = f"{seen}\n{journal[-3000:]}"
    assert seen["hostname"] == f"{SITE}-{NODE}", context
    assert seen["timezone"] == "Asia/Jakarta", context
    assert seen["instance_id"] == instance, context
    assert "done" in seen["cloud_init"], context
    assert seen["locale"] == "LANG=id_ID.UTF-8", context
    assert "0.id.pool.ntp.org" in seen["ntp"], context
    assert seen["admin_key"] == KEY, context
    assert {"sudo", "brexit"} <= set(seen["admin_groups"].split()), context
    assert {"gpio", "dialout", "audio", "lp"} <= set(seen["brexit_groups"].split()), context
    assert "gid=" in seen["boot_mount"] and "fmask=0117" in seen["boot_mount"], context
    assert seen["node_active"] == "active" and seen["node_user"] == "brexit", context
    # kios-1 runs Dinoyo's site broker from its seed; the node is connected to it over TLS.
    assert seen["broker_active"] == "active", context
    assert '"online": true' in seen["node_status"] or '"online":true' in seen["node_status"], \
        context
    assert seen["verify"].strip() == "", context
    exposure = float(seen["exposure"].split(":")[1].split()[0])
    assert exposure <= 3.0, context
    assert int(seen["watchdog_restarts"]) >= 1 and int(seen["watchdog_log"]) >= 1, context
    assert seen["node_active_after"] == "active", context

    # The first-boot self-test ran and wrote its report to the boot partition.
    assert seen["selftest"].split()[0] == "success", context
    report = fat.read("brexit/selftest.txt").decode()
    assert f"{SITE}" in report and NODE in report, report
    print(report)
