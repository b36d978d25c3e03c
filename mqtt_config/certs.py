"""How long a certificate has left, for the node's health and for `brexit broker renew`.

The dates come from the ``openssl`` command (no Python cryptography dependency); the rest
is pure and tested from tables. A certificate warns ``WARN_DAYS`` days before it expires:

>>> from datetime import datetime, timezone
>>> now = datetime(2026, 11, 30, tzinfo=timezone.utc)
>>> status("ca", parse_not_after("notAfter=Dec 20 08:00:00 2026 GMT"), now).to_dict()
{'name': 'ca', 'days_left': 20, 'not_after': '2026-12-20T08:00:00Z', 'state': 'warning'}
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

WARN_DAYS = 30
OPENSSL_DATE = "%b %d %H:%M:%S %Y %Z"  # "Mar  4 12:00:00 2029 GMT", as openssl and ssl print


class CertError(ValueError):
    """A certificate file that cannot be read or understood; the message names the file."""


class CertState(Enum):
    OK = "ok"
    WARNING = "warning"  # expires within WARN_DAYS: renew it (docs/brokers.md)
    EXPIRED = "expired"


@dataclass(frozen=True)
class CertStatus:
    """One certificate as the node's health shows it."""

    name: str
    days_left: int
    not_after: datetime
    state: CertState

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "days_left": self.days_left,
            "not_after": self.not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "state": self.state.value,
        }


def parse_not_after(text: str) -> datetime:
    """The expiry in ``openssl x509 -enddate`` output (or ``ssl.getpeercert()['notAfter']``).

    >>> parse_not_after("notAfter=Mar  4 12:00:00 2029 GMT").isoformat()
    '2029-03-04T12:00:00+00:00'
    """
    value = text.strip().removeprefix("notAfter=")
    try:
        parsed = datetime.strptime(" ".join(value.split()), OPENSSL_DATE)
    except ValueError:
        raise CertError(f"not a certificate date: {text.strip()!r}") from None
    return parsed.replace(tzinfo=UTC)


def days_left(not_after: datetime, now: datetime) -> int:
    """Whole days until ``not_after``; negative once expired (a day late is -1)."""
    return (not_after - now).days


def state_of(days: int, warn_days: int = WARN_DAYS) -> CertState:
    if days < 0:
        return CertState.EXPIRED
    return CertState.WARNING if days < warn_days else CertState.OK


def status(name: str, not_after: datetime, now: datetime | None = None) -> CertStatus:
    days = days_left(not_after, now or datetime.now(UTC))
    return CertStatus(name, days, not_after, state_of(days))


def _openssl_x509(path: Path, *options: str) -> str:
    exe = shutil.which("openssl")
    if exe is None:
        raise CertError("openssl: not found on PATH (Debian package: openssl)")
    done = subprocess.run([exe, "x509", "-in", str(path), "-noout", *options],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["unreadable"])[0]
        raise CertError(f"{path}: not a PEM certificate ({reason})")
    return done.stdout


def not_after(path: Path) -> datetime:
    """When the PEM certificate at ``path`` expires."""
    if not path.is_file():
        raise CertError(f"{path}: no such file")
    return parse_not_after(_openssl_x509(path, "-enddate"))


def file_status(name: str, path: Path, now: datetime | None = None) -> CertStatus:
    """The status of the certificate file at ``path`` (the function the node's health calls).

    Raises CertError, naming the file, when it is missing or not a certificate.
    """
    return status(name, not_after(path), now)


def parse_subject_alt_names(text: str) -> list[str]:
    """Host names and addresses from ``openssl x509 -ext subjectAltName`` output.

    >>> parse_subject_alt_names("X509v3 Subject Alternative Name: \\n"
    ...                         "    DNS:localhost, IP Address:127.0.0.1\\n")
    ['localhost', '127.0.0.1']
    """
    hosts = []
    for line in text.splitlines()[1:]:
        for item in line.split(","):
            kind, _, value = item.strip().partition(":")
            if kind in ("DNS", "IP Address") and value:
                hosts.append(value.strip())
    return hosts


def subject_alt_names(path: Path) -> list[str]:
    """The host names and addresses a certificate is valid for."""
    return parse_subject_alt_names(_openssl_x509(path, "-ext", "subjectAltName"))
