"""Boot partitions a seed is written to: a FAT partition inside an image (mtools, no
mounts, no root) or a directory (an SD card the laptop has mounted).

>>> mbr = bytearray(512); mbr[510:512] = b"\\x55\\xaa"
>>> mbr[446 + 4] = 0x0C; mbr[446 + 8:446 + 16] = (8192).to_bytes(4, "little") * 2
>>> parse_mbr(bytes(mbr))
(Partition(number=1, kind=12, start=4194304, size=4194304),)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edge.provision.seed import SeedFile

SECTOR = 512
FAT_TYPES = frozenset({0x01, 0x04, 0x06, 0x0B, 0x0C, 0x0E})
GPT_PROTECTIVE = 0xEE
SEED_OWNED_DIRS = ("brexit/mosquitto",)  # replaced whole by every seed


class BootPartitionError(RuntimeError):
    """The image or directory cannot take the seed; the message says why."""


@dataclass(frozen=True)
class Partition:
    number: int  # 1-4, as the kernel names it (mmcblk0p1)
    kind: int  # MBR partition type byte
    start: int  # bytes from the start of the image
    size: int  # bytes


def parse_mbr(sector: bytes) -> tuple[Partition, ...]:
    """The primary partitions of an MBR (the first 512 bytes of a disk image)."""
    if len(sector) < SECTOR or sector[510:512] != b"\x55\xaa":
        raise BootPartitionError("no MBR partition table (a Raspberry Pi image has one)")
    found = []
    for i in range(4):
        entry = sector[446 + 16 * i : 446 + 16 * (i + 1)]
        kind = entry[4]
        first = int.from_bytes(entry[8:12], "little")
        count = int.from_bytes(entry[12:16], "little")
        if kind == GPT_PROTECTIVE:
            raise BootPartitionError("GPT disk images are not supported (expected MBR)")
        if kind and count:
            found.append(Partition(i + 1, kind, first * SECTOR, count * SECTOR))
    return tuple(found)


def fat_partition(image: Path) -> Partition:
    """The image's first FAT partition: the Raspberry Pi's boot partition."""
    try:
        with image.open("rb") as f:
            head = f.read(SECTOR)
    except OSError as e:
        raise BootPartitionError(f"{image}: cannot read: {e.strerror or e}") from None
    for part in parse_mbr(head):
        if part.kind in FAT_TYPES:
            return part
    raise BootPartitionError(f"{image}: no FAT partition in its partition table")


def copy_image(src: Path, dst: Path) -> None:
    """Copy an image keeping it sparse (a 4 GB golden image is mostly holes)."""
    if not src.is_file():
        raise BootPartitionError(f"--image: {src} is not a file")
    if dst.resolve() == src.resolve():
        raise BootPartitionError("--out: must not be the golden image itself")
    done = subprocess.run(["cp", "--sparse=always", "--", str(src), str(dst)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BootPartitionError(f"--out: cannot copy the image: {done.stderr.strip()}")


class FatImage:
    """The FAT partition inside a disk image, written through mtools.

    >>> FatImage(Path("node.img"), Partition(1, 0x0C, 4194304, 1)).drive
    'node.img@@4194304'
    """

    def __init__(self, image: Path, partition: Partition) -> None:
        self.image = image
        self.partition = partition

    @classmethod
    def of(cls, image: Path) -> FatImage:
        return cls(image, fat_partition(image))

    @property
    def drive(self) -> str:
        return f"{self.image}@@{self.partition.start}"

    def write(self, files: Sequence[SeedFile]) -> None:
        with tempfile.TemporaryDirectory(prefix="brexit-seed-") as tmp:
            for d in sorted({str(Path(f.path).parent) for f in files} - {"."}):
                self._mkdir(d)
            for i, f in enumerate(files):
                local = Path(tmp) / str(i)
                local.write_bytes(f.data)
                self._mtools("mcopy", "-o", str(local), f"::/{f.path}")
        for f in files:
            if self.read(f.path) != f.data:
                raise BootPartitionError(f"{self.image}: {f.path} reads back different")

    def read(self, path: str) -> bytes:
        return self._mtools("mtype", "-i", self.drive, f"::/{path}", raw=True)

    def exists(self, path: str) -> bool:
        done = subprocess.run(["mdir", "-b", "-i", self.drive, f"::/{path}"],
                              capture_output=True, env=_env(), check=False)
        return done.returncode == 0

    def _mkdir(self, path: str) -> None:
        parts = Path(path).parts
        for i in range(1, len(parts) + 1):
            sub = "/".join(parts[:i])
            if not self.exists(sub):
                self._mtools("mmd", f"::/{sub}")

    def _mtools(self, tool: str, *args: str, raw: bool = False) -> bytes:
        argv = [tool, *args] if raw else [tool, "-i", self.drive, *args]
        if shutil.which(tool) is None:
            raise BootPartitionError(f"{tool} not found: install mtools (apt install mtools)")
        done = subprocess.run(argv, capture_output=True, env=_env(), check=False)
        if done.returncode != 0:
            err = done.stderr.decode(errors="replace").strip().splitlines()
            raise BootPartitionError(f"{tool} {args[-1]}: {err[-1] if err else 'failed'}")
        return done.stdout


class BootDirectory:
    """A boot partition the laptop has mounted (``/media/$USER/bootfs``)."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise BootPartitionError(f"--boot-dir: {root} is not a directory")
        self.root = root

    def write(self, files: Sequence[SeedFile]) -> None:
        self._drop_stale(files)
        for f in files:
            path = self.root / f.path
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            mode = 0o600 if f.secret else 0o644
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
            with os.fdopen(fd, "wb") as out:
                os.fchmod(out.fileno(), mode)  # exactly, whatever the process's umask
                out.write(f.data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)


    def _drop_stale(self, files: Sequence[SeedFile]) -> None:
        """A card seeded before for another node may hold the broker's files: the new seed
        owns ``brexit/mosquitto/`` whole."""
        keep = {f.path for f in files}
        for sub in SEED_OWNED_DIRS:
            directory = self.root / sub
            for old in sorted(directory.glob("*")):
                if old.is_file() and f"{sub}/{old.name}" not in keep:
                    old.unlink()
            if directory.is_dir() and not any(directory.iterdir()):
                directory.rmdir()


def _env() -> dict[str, str]:
    # Images made by other tools may have a FAT geometry mtools would otherwise refuse.
    return {**os.environ, "MTOOLS_SKIP_CHECK": "1"}
