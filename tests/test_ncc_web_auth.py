"""ncc.auth: users, roles, bearer tokens and sessions in the NCC's SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ncc.auth import Auth, LoginThrottle, Role, csrf_ok


@pytest.fixture
def auth(tmp_path: Path) -> Auth:
    return Auth(tmp_path / "ncc.db")


def test_password_checks_name_and_password(auth: Auth) -> None:
    auth.add_user("sari", Role.OPERATOR, "rahasia-panjang")
    auth.add_user("budi", Role.VIEWER, "kata-sandi-budi")
    assert auth.check_password("sari", "rahasia-panjang") is Role.OPERATOR
    assert auth.check_password("budi", "kata-sandi-budi") is Role.VIEWER
    assert auth.check_password("sari", "kata-sandi-budi") is None
    assert auth.check_password("tidak-ada", "rahasia-panjang") is None
    assert auth.users() == [("budi", Role.VIEWER), ("sari", Role.OPERATOR)]


def test_adding_a_user_again_changes_role_and_password(auth: Auth) -> None:
    auth.add_user("sari", Role.VIEWER, "lama-sekali-1")
    auth.add_user("sari", Role.OPERATOR, "baru-sekali-2")
    assert auth.check_password("sari", "lama-sekali-1") is None
    assert auth.check_password("sari", "baru-sekali-2") is Role.OPERATOR


def test_passwords_are_stored_as_salted_scrypt_only(auth: Auth) -> None:
    auth.add_user("sari", Role.OPERATOR, "rahasia-panjang")
    auth.add_user("budi", Role.OPERATOR, "rahasia-panjang")
    with sqlite3.connect(auth.db_path) as db:
        rows = db.execute("SELECT salt, hash FROM auth_users").fetchall()
        dump = "\n".join(db.iterdump())
    assert "rahasia-panjang" not in dump
    assert rows[0][0] != rows[1][0] and rows[0][1] != rows[1][1]  # salted: same password


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("Sari", "rahasia-panjang", "user name"),
        ("", "rahasia-panjang", "user name"),
        ("a b", "rahasia-panjang", "user name"),
        ("x" * 33, "rahasia-panjang", "user name"),
        ("sari", "pendek", "at least 8"),
    ],
)
def test_bad_users_are_refused_with_the_field(auth: Auth, name: str, password: str,
                                              message: str) -> None:
    with pytest.raises(ValueError, match=message):
        auth.add_user(name, Role.VIEWER, password)


def test_role_parse_names_the_choices() -> None:
    assert Role.parse("viewer") is Role.VIEWER
    with pytest.raises(ValueError, match="viewer or operator"):
        Role.parse("admin")


def test_tokens_are_shown_once_and_stored_hashed(auth: Auth) -> None:
    token = auth.add_token("prometheus", Role.VIEWER)
    other = auth.add_token("skrip", Role.OPERATOR)
    assert token != other and token.startswith("ncc_")
    assert auth.check_token(token) == ("prometheus", Role.VIEWER)
    assert auth.check_token(other) == ("skrip", Role.OPERATOR)
    assert auth.check_token(token + "x") is None
    assert auth.check_token("") is None
    with sqlite3.connect(auth.db_path) as db:
        assert token not in "\n".join(db.iterdump())


def test_sessions_live_until_ended_or_expired(tmp_path: Path) -> None:
    auth = Auth(tmp_path / "ncc.db")
    session = auth.start_session("sari", Role.OPERATOR)
    found = auth.session(session.token)
    assert found is not None and (found.user, found.role, found.csrf) == (
        "sari", Role.OPERATOR, session.csrf)
    auth.end_session(session.token)
    assert auth.session(session.token) is None

    expired = Auth(tmp_path / "ncc.db", session_ttl_s=-1).start_session("sari", Role.VIEWER)
    assert auth.session(expired.token) is None
    with sqlite3.connect(auth.db_path) as db:
        assert session.token not in "\n".join(db.iterdump())


def test_csrf_must_match_the_session(auth: Auth) -> None:
    session = auth.start_session("sari", Role.OPERATOR)
    other = auth.start_session("sari", Role.OPERATOR)
    assert csrf_ok(session, session.csrf)
    assert not csrf_ok(session, other.csrf)
    assert not csrf_ok(session, None)
    assert not csrf_ok(session, "")


def test_auth_shares_the_database_file_with_other_tables(tmp_path: Path) -> None:
    db_path = tmp_path / "ncc.db"
    with sqlite3.connect(db_path) as db:
        db.execute("CREATE TABLE nodes (site TEXT)")
    Auth(db_path).add_user("sari", Role.VIEWER, "rahasia-panjang")
    Auth(db_path)  # opening again keeps the users
    assert Auth(db_path).check_password("sari", "rahasia-panjang") is Role.VIEWER
    with sqlite3.connect(db_path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"nodes", "auth_users", "auth_tokens", "auth_sessions"} <= tables


def test_throttle_refuses_a_name_after_repeated_failures() -> None:
    throttle = LoginThrottle(max_failures=3, window_s=60)
    for _ in range(2):
        throttle.failed("sari")
    assert not throttle.blocked("sari")
    throttle.failed("sari")
    assert throttle.blocked("sari") and not throttle.blocked("budi")
    throttle.succeeded("sari")
    assert not throttle.blocked("sari")
    forgiving = LoginThrottle(max_failures=1, window_s=0)
    forgiving.failed("sari")
    assert not forgiving.blocked("sari")  # outside the window
