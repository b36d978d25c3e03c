"""The fleet CA, server certificates and password files, made with the system's own tools.

Certificates come from the ``openssl`` command, password hashes from ``mosquitto_passwd``
(Mosquitto's own PBKDF2-SHA512 format), so nothing here implements cryptography.

>>> import tempfile
>>> ca = make_ca(Path(tempfile.mkdtemp()))
>>> ca.cert.name, oct(ca.key.stat().st_mode & 0o777)
('ca.crt', '0o600')
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CA_DAYS = 3650
SERVER_DAYS = 825
EC_CURVE = "prime256v1"


class ToolError(RuntimeError):
    """An external tool (openssl, mosquitto_passwd) is missing or failed."""


@dataclass(frozen=True)
class CertPair:
    """A certificate and its private key, both PEM files.

    >>> CertPair(Path("ca.crt"), Path("ca.key")).cert
    PosixPath('ca.crt')
    """

    cert: Path
    key: Path


def new_password() -> str:
    """A random password: 32 URL-safe characters (no ``:``, so it fits a passwd line)."""
    return secrets.token_urlsafe(24)


def write_secret(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600), never wider."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o600)


def _run(tool: str, *args: str) -> None:
    exe = shutil.which(tool)
    if exe is None:
        raise ToolError(f"{tool}: not found on PATH (Debian package: openssl / mosquitto)")
    done = subprocess.run([exe, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ToolError(f"{tool} {args[0]}: {done.stderr.strip() or done.returncode}")


def _ec_key(path: Path) -> None:
    _run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", f"ec_paramgen_curve:{EC_CURVE}",
         "-out", str(path))
    os.chmod(path, 0o600)


def make_ca(out: Path, name: str = "BREXIT fleet CA") -> CertPair:
    """Create the fleet CA (key 0600 + self-signed certificate) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    ca = CertPair(out / "ca.crt", out / "ca.key")
    _ec_key(ca.key)
    _run("openssl", "req", "-x509", "-new", "-key", str(ca.key), "-out", str(ca.cert),
         "-days", str(CA_DAYS), "-subj", f"/O=BREXIT/CN={name}",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return ca


def load_ca(directory: Path) -> CertPair:
    ca = CertPair(directory / "ca.crt", directory / "ca.key")
    for path in (ca.cert, ca.key):
        if not path.is_file():
            raise ToolError(f"--ca: {path} missing (make it with `brexit broker ca --out DIR`)")
    return ca


def subject_alt_names(hosts: Sequence[str]) -> str:
    """``subjectAltName`` for host names and IP addresses.

    >>> subject_alt_names(["localhost", "127.0.0.1"])
    'DNS:localhost,IP:127.0.0.1'
    """
    return ",".join(f"IP:{h}" if _is_ip(h) else f"DNS:{h}" for h in hosts)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def make_server_cert(
    ca: CertPair, out: Path, hosts: Sequence[str], days: int = SERVER_DAYS
) -> CertPair:
    """A TLS server certificate for ``hosts`` signed by ``ca``: ``server.crt`` and ``.key``."""
    if not hosts:
        raise ToolError("--host: at least one host name or address is needed")
    out.mkdir(parents=True, exist_ok=True)
    pair = CertPair(out / "server.crt", out / "server.key")
    _ec_key(pair.key)
    with tempfile.TemporaryDirectory() as tmp:
        csr, ext = Path(tmp) / "server.csr", Path(tmp) / "ext.cnf"
        ext.write_text(
            f"subjectAltName={subject_alt_names(hosts)}\n"
            "basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\n",
            encoding="utf-8",
        )
        _run("openssl", "req", "-new", "-key", str(pair.key), "-out", str(csr),
             "-subj", f"/O=BREXIT/CN={hosts[0]}")
        _run("openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca.cert),
             "-CAkey", str(ca.key), "-set_serial", f"0x{secrets.token_hex(16)}",
             "-days", str(days), "-extfile", str(ext), "-out", str(pair.cert))
    return pair


def hash_password_file(path: Path, plain_lines: str) -> None:
    """Write ``user:password`` lines to ``path`` (0600) and hash them with mosquitto_passwd."""
    write_secret(path, plain_lines)
    _run("mosquitto_passwd", "-U", str(path))
    os.chmod(path, 0o600)
