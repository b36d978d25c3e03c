"""``[bpjs]`` in the node's config: where the service is, which poli each service is.

The credentials (consumer id, secret, user key) live in their own file beside the config,
readable by the node alone (0600); the config names it.

>>> cfg = parse_bpjs({"base_url": "http://127.0.0.1:9/antreanfktp",
...     "credentials_file": "bpjs.toml", "poli": {"A": {"kodepoli": "001",
...     "namapoli": "UMUM"}}}, credentials=Credentials("1234", "s", "k"))
>>> cfg.poli["A"].kodepoli, cfg.timeout_s
('001', 10.0)
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse


class BpjsConfigError(ValueError):
    """The ``[bpjs]`` table or its credentials file is unusable; the message names the field."""


@dataclass(frozen=True)
class Credentials:
    cons_id: str
    secret: str
    user_key: str

    def __repr__(self) -> str:  # never in a log
        return f"Credentials(cons_id={self.cons_id!r}, secret=***, user_key=***)"


@dataclass(frozen=True)
class Poli:
    """How BPJS knows one of the site's services."""

    kodepoli: str
    namapoli: str
    kodedokter: int | None = None
    namadokter: str = ""
    jampraktek: str = ""


@dataclass(frozen=True)
class BpjsConfig:
    base_url: str
    credentials: Credentials
    poli: Mapping[str, Poli] = field(default_factory=dict)
    timeout_s: float = 10.0
    retry_min_s: float = 2.0
    retry_max_s: float = 300.0


def parse_bpjs(
    raw: Mapping[str, Any], *, base: Path = Path("."), credentials: Credentials | None = None
) -> BpjsConfig:
    """Build the config from the ``[bpjs]`` table (already checked against the schema)."""
    url = str(raw.get("base_url", ""))
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise BpjsConfigError(f"bpjs.base_url: {url!r} is not an http(s) URL")
    if "credentials_file" not in raw:
        raise BpjsConfigError("bpjs.credentials_file: required")
    creds = credentials or read_credentials(base / str(raw["credentials_file"]))
    poli = {code: _poli(code, p) for code, p in dict(raw.get("poli", {})).items()}
    return BpjsConfig(
        base_url=url.rstrip("/"),
        credentials=creds,
        poli=poli,
        timeout_s=float(raw.get("timeout_s", 10.0)),
        retry_min_s=float(raw.get("retry_min_s", 2.0)),
        retry_max_s=float(raw.get("retry_max_s", 300.0)),
    )


def _poli(code: str, raw: Mapping[str, Any]) -> Poli:
    for key in ("kodepoli", "namapoli"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise BpjsConfigError(f"bpjs.poli.{code}.{key}: required text")
    dokter = raw.get("kodedokter")
    if dokter is not None and (not isinstance(dokter, int) or isinstance(dokter, bool)):
        raise BpjsConfigError(f"bpjs.poli.{code}.kodedokter: expected an integer")
    return Poli(
        kodepoli=raw["kodepoli"], namapoli=raw["namapoli"], kodedokter=dokter,
        namadokter=str(raw.get("namadokter", "")), jampraktek=str(raw.get("jampraktek", "")),
    )


def read_credentials(path: Path) -> Credentials:
    """``cons_id``, ``secret`` and ``user_key`` from a TOML file only the node may read."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise BpjsConfigError(f"bpjs.credentials_file: cannot read {path}: {e.strerror}") from e
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise BpjsConfigError(
            f"bpjs.credentials_file: {path} is readable by others (mode {oct(mode & 0o777)});"
            f" run: chmod 600 {path}"
        )
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise BpjsConfigError(f"bpjs.credentials_file: {path}: not valid TOML: {e}") from e
    values = []
    for key in ("cons_id", "secret", "user_key"):
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise BpjsConfigError(f"bpjs.credentials_file: {path}: {key} is missing")
        values.append(value.strip())
    return Credentials(*values)


def write_credentials(path: Path, creds: Credentials) -> None:
    """Write a credentials file with mode 0600 (for set-up and tests)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(f'cons_id = "{creds.cons_id}"\nsecret = "{creds.secret}"\n'
                f'user_key = "{creds.user_key}"\n')
