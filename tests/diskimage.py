"""Disk images as a Raspberry Pi image lays them out, made without mounts or root.

An MBR with a FAT boot partition (label ``bootfs``, made by mtools) and optionally an
ext4 root partition (``mke2fs -d`` from a directory). Used by the provisioning tests and
the boot test's stand-in golden image.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

SECTOR = 512
ALIGN = 4 * 1024 * 1024  # partitions start on 4 MiB, as pi-gen lays them out
CHUNK = 1024 * 1024


def mbr(partitions: list[tuple[int, int, int]]) -> bytes:
    """An MBR for ``(type, start_bytes, size_bytes)`` primary partitions."""
    sector = bytearray(SECTOR)
    sector[440:444] = (0x42524558).to_bytes(4, "little")  # disk id: PARTUUID 42524558-0N
    for i, (kind, start, size) in enumerate(partitions):
        entry = bytearray(16)
        entry[4] = kind
        entry[8:12] = (start // SECTOR).to_bytes(4, "little")
        entry[12:16] = (size // SECTOR).to_bytes(4, "little")
        sector[446 + 16 * i : 446 + 16 * (i + 1)] = entry
    sector[510:512] = b"\x55\xaa"
    return bytes(sector)


def make_fat(path: Path, size: int, files: dict[str, bytes] | None = None,
             label: str = "bootfs") -> None:
    path.unlink(missing_ok=True)
    run("mformat", "-i", str(path), "-C", "-T", str(size // SECTOR), "-v", label, "::")
    for name, data in (files or {}).items():
        parts = name.split("/")
        for i in range(1, len(parts)):
            subprocess.run(["mmd", "-i", str(path), "::/" + "/".join(parts[:i])],
                           capture_output=True, check=False)
        with tempfile.NamedTemporaryFile() as tmp:
            tmp.write(data)
            tmp.flush()
            run("mcopy", "-o", "-i", str(path), tmp.name, f"::/{name}")


def make_ext4(path: Path, size: int, root: Path, label: str = "rootfs") -> None:
    path.unlink(missing_ok=True)
    run("mke2fs", "-q", "-F", "-t", "ext4", "-L", label, "-d", str(root), str(path),
        f"{size // 1024}k")


def assemble(out: Path, boot: Path, root: Path | None = None) -> None:
    """Lay ``boot`` (FAT) and ``root`` (ext4) images out as partitions 1 and 2 of ``out``."""
    boot_size = _round(boot.stat().st_size)
    parts = [(0x0C, ALIGN, boot_size)]
    if root is not None:
        parts.append((0x83, ALIGN + boot_size, _round(root.stat().st_size)))
    total = parts[-1][1] + parts[-1][2]
    with out.open("wb") as f:
        f.truncate(total)
        f.write(mbr(parts))
        for (_, start, _), image in zip(parts, [boot, root], strict=False):
            if image is not None:
                _copy_sparse(image, f, start)


def small_image(out: Path, files: dict[str, bytes] | None = None) -> None:
    """A golden-image stand-in for seed tests: an MBR and a 64 MiB FAT boot partition."""
    with tempfile.TemporaryDirectory() as tmp:
        fat = Path(tmp) / "boot.img"
        make_fat(fat, 64 * 1024 * 1024, files or {"config.txt": b"arm_64bit=1\n"})
        assemble(out, fat)


def run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def _round(size: int) -> int:
    return -(-size // ALIGN) * ALIGN


def _copy_sparse(src: Path, dst: object, offset: int) -> None:
    zero = bytes(CHUNK)
    with src.open("rb") as f:
        pos = offset
        while chunk := f.read(CHUNK):
            if chunk != zero[: len(chunk)]:
                dst.seek(pos)  # type: ignore[attr-defined]
                dst.write(chunk)  # type: ignore[attr-defined]
            pos += len(chunk)
