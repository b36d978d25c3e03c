"""Who may use the NCC: users with a role, bearer tokens for scripts, login sessions, CSRF.

Everything lives in the NCC's SQLite database file, in tables of its own (``auth_*``) that
the store never touches. Passwords are hashed with scrypt, tokens and session ids are kept
only as SHA-256 digests, and every comparison of secrets is constant-time.

Example::

    auth = Auth(Path("data/ncc/ncc.db"))
    auth.add_user("sari", Role.OPERATOR, "rahasia-panjang")
    assert auth.check_password("sari", "rahasia-panjang") is Role.OPERATOR
    token = auth.add_token("prometheus", Role.VIEWER)   # shown once, stored hashed
    assert auth.check_token(token) == ("prometheus", Role.VIEWER)
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
MIN_PASSWORD = 8
SESSION_TTL_S = 12 * 3600  # one operator's shift
TOKEN_PREFIX = "ncc_"

# scrypt: 16 MiB of memory, about 50 ms per check on a small server.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024, "dklen": 32}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS auth_users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, salt BLOB NOT NULL, hash BLOB NOT NULL,
    created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS auth_tokens (
    digest TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS auth_sessions (
    digest TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, csrf TEXT NOT NULL,
    expires REAL NOT NULL);
"""


class Role(StrEnum):
    """What a login may do: a viewer watches, an operator also acknowledges and commands."""

    VIEWER = "viewer"
    OPERATOR = "operator"

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls(text)
        except ValueError:
            raise ValueError(f"role must be viewer or operator, not {text!r}") from None

    def may_act(self) -> bool:
        return self is Role.OPERATOR


@dataclass(frozen=True)
class Session:
    """A logged-in browser: ``token`` goes in the cookie, ``csrf`` in every form it posts."""

    token: str
    user: str
    role: Role
    csrf: str
    expires: float


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _scrypt(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)


def check_name(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise ValueError(f"user name {name!r}: lower-case letters, digits, . _ - (max 32)")
    return name


class Auth:
    """Users, tokens and sessions in the NCC database; safe to share between threads."""

    def __init__(self, db_path: Path, *, session_ttl_s: float = SESSION_TTL_S) -> None:
        self.db_path = Path(db_path)
        self.session_ttl_s = session_ttl_s
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.db_path, timeout=30)
        try:
            with db:
                yield db
        finally:
            db.close()

    # users -------------------------------------------------------------------------------
    def add_user(self, name: str, role: Role, password: str) -> None:
        """Add a user, or set an existing user's role and password."""
        check_name(name)
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"password must have at least {MIN_PASSWORD} characters")
        salt = secrets.token_bytes(16)
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO auth_users VALUES (?, ?, ?, ?, ?)",
                (name, Role(role).value, salt, _scrypt(password, salt), time.time()),
            )

    def users(self) -> list[tuple[str, Role]]:
        with self._db() as db:
            rows = db.execute("SELECT name, role FROM auth_users ORDER BY name").fetchall()
        return [(name, Role(role)) for name, role in rows]

    def check_password(self, name: str, password: str) -> Role | None:
        with self._db() as db:
            row = db.execute(
                "SELECT role, salt, hash FROM auth_users WHERE name = ?", (name,)
            ).fetchone()
        if row is None:
            _scrypt(password, b"\0" * 16)  # same work for an unknown name: no timing oracle
            return None
        role, salt, stored = row
        return Role(role) if hmac.compare_digest(_scrypt(password, salt), stored) else None

    # tokens ------------------------------------------------------------------------------
    def add_token(self, name: str, role: Role) -> str:
        """A new bearer token for ``name``; only its digest is kept, so show it once."""
        check_name(name)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._db() as db:
            db.execute(
                "INSERT INTO auth_tokens VALUES (?, ?, ?, ?)",
                (_digest(token), name, Role(role).value, time.time()),
            )
        return token

    def check_token(self, token: str) -> tuple[str, Role] | None:
        with self._db() as db:
            row = db.execute(
                "SELECT digest, name, role FROM auth_tokens WHERE digest = ?", (_digest(token),)
            ).fetchone()
        if row is None or not hmac.compare_digest(row[0], _digest(token)):
            return None
        return row[1], Role(row[2])

    # sessions ----------------------------------------------------------------------------
    def start_session(self, name: str, role: Role) -> Session:
        session = Session(
            token=secrets.token_urlsafe(32), user=name, role=role,
            csrf=secrets.token_urlsafe(32), expires=time.time() + self.session_ttl_s,
        )
        with self._db() as db:
            db.execute("DELETE FROM auth_sessions WHERE expires < ?", (time.time(),))
            db.execute(
                "INSERT INTO auth_sessions VALUES (?, ?, ?, ?, ?)",
                (_digest(session.token), name, role.value, session.csrf, session.expires),
            )
        return session

    def session(self, token: str) -> Session | None:
        """The live session behind a cookie value, or None (unknown, ended or expired)."""
        with self._db() as db:
            row = db.execute(
                "SELECT name, role, csrf, expires FROM auth_sessions WHERE digest = ?",
                (_digest(token),),
            ).fetchone()
        if row is None or row[3] < time.time():
            return None
        return Session(token=token, user=row[0], role=Role(row[1]), csrf=row[2], expires=row[3])

    def end_session(self, token: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM auth_sessions WHERE digest = ?", (_digest(token),))


class LoginThrottle:
    """Refuse a name after ``max_failures`` wrong passwords within ``window_s`` (kept in
    memory: a restart forgives), so a password cannot be guessed at scrypt's pace."""

    def __init__(self, *, max_failures: int = 5, window_s: float = 300.0) -> None:
        self.max_failures, self.window_s = max_failures, window_s
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, name: str, now: float) -> list[float]:
        kept = [t for t in self._failures.get(name, []) if now - t < self.window_s]
        self._failures[name] = kept
        return kept

    def blocked(self, name: str) -> bool:
        with self._lock:
            return len(self._recent(name, time.monotonic())) >= self.max_failures

    def failed(self, name: str) -> None:
        with self._lock:
            self._recent(name, time.monotonic()).append(time.monotonic())

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)


def csrf_ok(session: Session, presented: str | None) -> bool:
    """Whether a form's CSRF field (or X-CSRF-Token header) matches its session."""
    return presented is not None and hmac.compare_digest(session.csrf, presented)
