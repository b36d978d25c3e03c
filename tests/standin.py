"""A stand-in golden image for the boot test: Debian arm64 instead of Raspberry Pi OS.

Raspberry Pi's archive is unreachable here, so pi-gen cannot run. The stand-in is made
the same way where it matters: a root filesystem from Debian (debootstrap for arm64,
run through qemu-user-static and binfmt_misc), BREXIT installed into it by the same
``deploy/image/install-rootfs.sh`` the pi-gen stage runs, and an MBR disk image with a
FAT boot partition (label ``bootfs``) and an ext4 root (mtools and ``mke2fs -d``, no
mounts). The kernel and initrd are Debian's, for ``qemu-system-aarch64 -M virt``.

Layers are cached under ``$BREXIT_BOOT_CACHE`` (default ``/var/cache/brexit-boot-test``),
keyed by a hash of their inputs: the Debian root filesystem with the project's
dependencies (packages list, pyproject dependencies, install scripts), then the project
itself, reinstalled from the current wheel on every run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from diskimage import assemble, make_ext4, make_fat

REPO = Path(__file__).resolve().parents[1]
IMAGE_DIR = REPO / "deploy" / "image"
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
# What Raspberry Pi OS has and a minimal Debian lacks: a kernel for qemu's virt machine,
# DHCP for cloud-init's ENI renderer, sudo for the technician.
STANDIN_PACKAGES = ("systemd-sysv", "udev", "kmod", "ifupdown",
                    "isc-dhcp-client", "sudo", "iproute2", "netbase", "ca-certificates",
                    "dbus")
KERNEL = "linux-image-arm64"
# The initrd only needs to find the root partition on qemu's virtio disk. Listing the
# modules (instead of initramfs-tools' default "most") makes mkinitramfs, which runs
# emulated, many minutes faster. The kernel is installed after debootstrap, once this
# configuration is in place.
INITRD_MODULES = ("virtio_mmio", "virtio_pci", "virtio_blk", "ext4", "crc32c_generic")
INITRD_HOOK = """#!/bin/sh
[ "$1" = prereqs ] && exit 0
. /usr/share/initramfs-tools/hook-functions
manual_add_modules {modules}
"""
BOOT_SIZE = 256 * 1024 * 1024


def cache_root() -> Path:
    return Path(os.environ.get("BREXIT_BOOT_CACHE", "/var/cache/brexit-boot-test"))


class StandinError(RuntimeError):
    """The stand-in cannot be built on this machine; the message says what is missing."""


def check_host() -> None:
    """binfmt_misc with qemu-aarch64, debootstrap, mtools, mke2fs, qemu-system-aarch64."""
    for tool in ("debootstrap", "mcopy", "mke2fs", "qemu-system-aarch64", "chroot"):
        if shutil.which(tool) is None:
            raise StandinError(f"{tool} is missing (./setup.sh --dev installs it)")
    binfmt = Path("/proc/sys/fs/binfmt_misc")
    if not (binfmt / "status").exists():
        done = subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(binfmt)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise StandinError(f"binfmt_misc is not mounted and cannot be: {done.stderr.strip()}")
    entry = binfmt / "qemu-aarch64"
    if not entry.exists():
        subprocess.run(["update-binfmts", "--enable", "qemu-aarch64"],
                       capture_output=True, check=False)
    if not entry.exists() or "enabled" not in entry.read_text():
        raise StandinError("binfmt_misc has no qemu-aarch64 entry (install qemu-user-static)")


def packages() -> list[str]:
    listed = (IMAGE_DIR / "packages").read_text().split()
    return sorted({*listed, *STANDIN_PACKAGES})


# Bump when the base recipe (debootstrap(), _configure_base()) changes in a way the key
# below does not see.
BASE_RECIPE = 1


def base_key() -> str:
    """Everything the cached Debian root filesystem depends on. The project, its install
    scripts and its Python dependencies are not in it: every run installs the wheel again,
    and pip adds a dependency the cached venv lacks (a new dependency costs seconds, not a
    new debootstrap)."""
    digest = hashlib.sha256()
    for part in (str(BASE_RECIPE), SUITE, MIRROR, KERNEL, *INITRD_MODULES, *packages()):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Standin:
    """The stand-in golden image and what qemu needs to boot it."""

    image: Path
    kernel: Path
    initrd: Path


def debootstrap(rootfs: Path, log: Path) -> None:
    """A minimal Debian arm64, then the image's packages with apt's own resolver
    (debootstrap's --include does not resolve virtual packages such as cloud-init's
    python3-cffi-backend-api-min) and the kernel after its small initrd configuration."""
    tmp = rootfs.with_name(rootfs.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with log.open("ab") as out:
        subprocess.run(["debootstrap", "--arch=arm64", "--variant=minbase", SUITE, str(tmp),
                        MIRROR], stdout=out, stderr=subprocess.STDOUT, check=True)
        conf = tmp / "etc/initramfs-tools"
        (conf / "conf.d").mkdir(parents=True, exist_ok=True)
        (conf / "conf.d/brexit-standin.conf").write_text("MODULES=list\nCOMPRESS=gzip\n")
        hook = conf / "hooks/brexit-standin"
        hook.parent.mkdir(parents=True, exist_ok=True)
        hook.write_text(INITRD_HOOK.format(modules=" ".join(INITRD_MODULES)))
        hook.chmod(0o755)
        (tmp / "etc/apt/sources.list").write_text(f"deb {MIRROR} {SUITE} main\n")
        _in_chroot(tmp, out, "apt-get", "update", "-q")
        _in_chroot(tmp, out, "apt-get", "install", "-y", "-q", "--no-install-recommends",
                   *packages(), KERNEL)
        _in_chroot(tmp, out, "apt-get", "clean")
    _configure_base(tmp)
    tmp.rename(rootfs)


def _in_chroot(rootfs: Path, out: object, *argv: str) -> None:
    """Run ``argv`` inside ``rootfs`` with /proc mounted (as debootstrap itself does)."""
    proc = rootfs / "proc"
    subprocess.run(["mount", "-t", "proc", "proc", str(proc)], check=True)
    try:
        subprocess.run(["chroot", str(rootfs), *argv], stdout=out, stderr=subprocess.STDOUT,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, check=True)
    finally:
        subprocess.run(["umount", str(proc)], check=False)


def _configure_base(rootfs: Path) -> None:
    """What pi-gen's earlier stages do for Raspberry Pi OS, for qemu's virt machine."""
    (rootfs / "etc/fstab").write_text(
        "/dev/vda2  /               ext4  defaults,noatime  0 1\n"
        "/dev/vda1  /boot/firmware  vfat  defaults          0 2\n")
    (rootfs / "boot/firmware").mkdir(parents=True, exist_ok=True)
    (rootfs / "etc/hostname").write_text("localhost\n")
    (rootfs / "etc/machine-id").write_text("")  # first boot, as a freshly flashed image


def install_project(rootfs: Path, wheel: Path, log: Path) -> None:
    """BREXIT into the root filesystem, exactly as the pi-gen stage installs it (pi-gen's
    on_chroot also mounts /proc)."""
    proc = rootfs / "proc"
    host_only = ("PIP_", "SSL_CERT", "REQUESTS_CA", "CURL_CA")  # name host paths
    env = {k: v for k, v in os.environ.items() if not k.startswith(host_only)}
    host_ca = Path(os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE") or "")
    if host_ca.is_file():
        # This machine reaches PyPI through a TLS proxy whose CA the Debian root does not
        # know; pip inside the chroot gets the host's bundle for this run only.
        shutil.copyfile(host_ca, rootfs / "tmp/brexit-host-ca.crt")
        env["PIP_CERT"] = "/tmp/brexit-host-ca.crt"
    subprocess.run(["mount", "-t", "proc", "proc", str(proc)], check=True)
    try:
        with log.open("ab") as out:
            subprocess.run([str(IMAGE_DIR / "install-rootfs.sh"), str(rootfs), str(wheel)],
                           stdout=out, stderr=subprocess.STDOUT, env=env, check=True)
    finally:
        subprocess.run(["umount", str(proc)], check=False)
        (rootfs / "tmp/brexit-host-ca.crt").unlink(missing_ok=True)


def build(wheel: Path, work: Path, extra: dict[str, str] | None = None) -> Standin:
    """The stand-in golden image in ``work``; ``extra`` files (path -> text) are added to
    the root filesystem after the project (the boot test's own drop-ins)."""
    check_host()
    cache = cache_root() / f"base-{base_key()}"
    cache.mkdir(parents=True, exist_ok=True)
    log = work / "build.log"
    base = cache / "rootfs"
    clock = _Clock(log)
    if not base.is_dir():
        staging = cache / "staging"  # complete once debootstrap() has renamed it
        if not staging.is_dir():
            debootstrap(staging, log)
            clock.lap("debootstrap (cold)")
        install_project(staging, wheel, log)  # the dependencies land in the cached layer
        clock.lap("dependencies (cold)")
        staging.rename(base)
    rootfs = work / "rootfs"
    rootfs.mkdir()
    subprocess.run(["cp", "-a", "--reflink=auto", f"{base}/.", str(rootfs)], check=True)
    clock.lap("copy of the cached root filesystem")
    install_project(rootfs, wheel, log)
    clock.lap("project installed")
    add_files(rootfs, extra or {})
    kernel = _newest(rootfs / "boot", "vmlinuz-*")
    initrd = _newest(rootfs / "boot", "initrd.img-*")
    shutil.copyfile(kernel, work / "vmlinuz")
    shutil.copyfile(initrd, work / "initrd.img")
    boot = work / "boot.img"
    make_fat(boot, BOOT_SIZE, {"config.txt": b"arm_64bit=1\n"})
    root = work / "root.img"
    make_ext4(root, _rootfs_size(rootfs), rootfs)
    shutil.rmtree(rootfs)
    image = work / "golden.img"
    assemble(image, boot, root)
    boot.unlink()
    root.unlink()
    clock.lap("disk image assembled")
    return Standin(image=image, kernel=work / "vmlinuz", initrd=work / "initrd.img")


class _Clock:
    """Phase durations, printed and appended to the build log."""

    def __init__(self, log: Path) -> None:
        self._log = log
        self._t = time.monotonic()

    def lap(self, what: str) -> None:
        now = time.monotonic()
        line = f"stand-in: {what}: {now - self._t:.0f} s"
        self._t = now
        print(line, flush=True)
        with self._log.open("a") as f:
            f.write(line + "\n")


def add_files(rootfs: Path, files: dict[str, str]) -> None:
    """Files into the root filesystem: ``"@symlink:TARGET"`` makes a link, ``#!`` an
    executable."""
    for rel, text in files.items():
        path = rootfs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        if text.startswith("@symlink:"):
            path.symlink_to(text.removeprefix("@symlink:"))
            continue
        path.write_text(text)
        path.chmod(0o755 if text.startswith("#!") else 0o644)


def _newest(directory: Path, pattern: str) -> Path:
    found = sorted(directory.glob(pattern))
    if not found:
        raise StandinError(f"no {pattern} in {directory}")
    return found[-1]


def _rootfs_size(rootfs: Path) -> int:
    used = int(subprocess.run(["du", "-sb", str(rootfs)], capture_output=True, text=True,
                              check=True).stdout.split()[0])
    return (used * 13 // 10 // (1 << 20) + 256) << 20
