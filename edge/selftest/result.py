"""What one check found, and the numbered codes a technician reads out by phone.

Each code belongs to one kind of failure, so "kode E21" means "printer paper out" on every
node of the fleet; the table is documented in docs/selftest.md (and tested against it).

>>> fail(Fault.PRINTER_PAPER_OUT, "printer")
CheckResult(check='printer', status=<Status.FAIL: 'fail'>, message='printer kertas habis', \
code='E21')
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"  # nothing to test (not fitted, not available): never a failure


class Fault(Enum):
    """Every failure the self-test can report: (code, Indonesian message)."""

    CONFIG_INVALID = ("E01", "berkas konfigurasi node salah")
    DISK_LOW = ("E02", "ruang penyimpanan hampir penuh")
    SPEAKER = ("E05", "speaker tidak dapat mengeluarkan suara")
    BUTTON = ("E11", "tombol tidak terdeteksi")
    PRINTER_OFFLINE = ("E20", "printer tidak menjawab")
    PRINTER_PAPER_OUT = ("E21", "printer kertas habis")
    PRINTER_JOB = ("E22", "printer gagal mencetak tiket uji")
    EMBOSSER_OFFLINE = ("E30", "embosser tidak menjawab")
    EMBOSSER_PAPER_OUT = ("E31", "embosser kertas habis")
    EMBOSSER_ERROR = ("E32", "embosser melaporkan kerusakan")
    CELLS_OFFLINE = ("E40", "sel Braille tidak menjawab")
    CELLS_SHOW = ("E41", "sel Braille gagal menampilkan titik")
    BROKER_DNS = ("E50", "nama server MQTT tidak ditemukan")
    BROKER_CONNECT = ("E51", "server MQTT tidak dapat dihubungi")
    BROKER_TLS = ("E52", "sertifikat server MQTT ditolak")
    BROKER_LOGIN = ("E53", "server MQTT menolak login node")
    BROKER_SILENT = ("E54", "server MQTT tidak menjawab")
    CLOCK_UNSYNCED = ("E60", "jam belum tersinkron dengan NTP")
    CLOCK_YEAR = ("E61", "tahun pada jam tidak masuk akal")
    POWER_LOW_NOW = ("E70", "tegangan listrik kurang")
    POWER_LOW_BEFORE = ("E71", "tegangan listrik pernah kurang sejak menyala")
    POWER_HOT = ("E72", "prosesor terlalu panas")

    @property
    def code(self) -> str:
        return self.value[0]

    @property
    def message(self) -> str:
        return self.value[1]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check; ``code`` is set on a failure only."""

    check: str  # what was tested: "printer", "button:service-1", "broker"…
    status: Status
    message: str  # Indonesian, one short sentence without a full stop
    code: str | None = None

    def to_dict(self) -> dict[str, str]:
        out = {"check": self.check, "status": self.status.value, "message": self.message}
        if self.code is not None:
            out["code"] = self.code
        return out


def passed(check: str, message: str) -> CheckResult:
    return CheckResult(check, Status.PASS, message)


def skipped(check: str, message: str) -> CheckResult:
    return CheckResult(check, Status.SKIP, message)


def fail(fault: Fault, check: str, message: str | None = None) -> CheckResult:
    """A failure with its code; ``message`` replaces the fault's own words when given."""
    return CheckResult(check, Status.FAIL, message or fault.message, fault.code)
