"""ncc.web.params and ncc.web.labels: pure parsing and wording, tested from tables."""

from __future__ import annotations

from typing import Any

import pytest

from ncc.messages import schemas
from ncc.web import labels, params
from ncc.web.http import BadRequest
from ncc.web.pages import command_args, offered_commands, safe_next


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"site": None, "state": None, "sort": "site", "offset": 0, "limit": 100}),
        ("site=janti&state=offline&sort=-last_seen&offset=20&limit=10",
         {"site": "janti", "state": "offline", "sort": "-last_seen", "offset": 20, "limit": 10}),
        ("site=&state=", {"site": None, "state": None, "sort": "site", "offset": 0,
                          "limit": 100}),
    ],
)
def test_node_filters(query: str, expected: dict[str, Any]) -> None:
    assert params.node_filters(params.parse_query(query)) == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("state=luring", "state"),
        ("sort=version", "sort"),
        ("sort=--site", "sort"),
        ("offset=-1", "offset"),
        ("offset=1e3", "offset"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=99999999999999999999", "limit"),
        ("site=Janti", "site"),
        ("site=../etc", "site"),
        ("site=a&site=b", "site"),
    ],
)
def test_bad_node_filters_name_the_field(query: str, field: str) -> None:
    with pytest.raises(BadRequest, match=rf"^{field}:"):
        params.node_filters(params.parse_query(query))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"state": "open", "site": None, "kind": None}),
        ("state=all&site=janti&kind=offline", {"state": "all", "site": "janti",
                                               "kind": "offline"}),
    ],
)
def test_alarm_filters(query: str, expected: dict[str, Any]) -> None:
    assert params.alarm_filters(params.parse_query(query)) == expected


@pytest.mark.parametrize("query", ["state=closed", "kind=<script>", "site=JANTI"])
def test_bad_alarm_filters(query: str) -> None:
    with pytest.raises(BadRequest):
        params.alarm_filters(params.parse_query(query))


@pytest.mark.parametrize(
    ("query", "ok"),
    [("site=janti&node=kiosk-1&after=5", True), ("node=kiosk-1", False), ("after=x", False),
     ("after=-3", False)],
)
def test_event_filters(query: str, ok: bool) -> None:
    if ok:
        assert params.event_filters(params.parse_query(query))["after"] == 5
    else:
        with pytest.raises(BadRequest):
            params.event_filters(params.parse_query(query))


@pytest.mark.parametrize(
    ("body", "expected"),
    [(b"", {}), (b"  ", {}), (b'{"text": "halo"}', {"text": "halo"})],
)
def test_json_object(body: bytes, expected: dict[str, Any]) -> None:
    assert params.json_object(body) == expected


@pytest.mark.parametrize("body", [b"[1]", b"{", b"\xff\xfe", b'"x"', b"null"])
def test_bad_json_bodies(body: bytes) -> None:
    with pytest.raises(BadRequest, match=r"^body:"):
        params.json_object(body)


def test_forms_refuse_repeated_fields_and_bad_bytes() -> None:
    assert params.form(b"a=1&b=x+y") == {"a": "1", "b": "x y"}
    with pytest.raises(BadRequest):
        params.form(b"a=1&a=2")
    with pytest.raises(BadRequest):
        params.form(b"\xff=1")


@pytest.mark.parametrize("text", ["0", "-1", "abc", "1.5", ""])
def test_alarm_ids_are_positive_integers(text: str) -> None:
    with pytest.raises(BadRequest):
        params.alarm_id(text)


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/alarms", "/alarms"), ("/nodes/janti/kiosk-1", "/nodes/janti/kiosk-1"),
     ("//evil.example/", "/"), ("https://evil.example/", "/"), ("/\\evil", "/"),
     (None, "/"), ("", "/"), ("alarms", "/")],
)
def test_safe_next_stays_on_the_site(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


@pytest.mark.parametrize(
    ("name", "form", "args"),
    [("selftest", {"text": "abaikan"}, {}),
     ("reprint", {"number": " A-012 "}, {"number": "A-012"}),
     ("announce", {"text": " Poli gigi tutup pukul 12 "}, {"text": "Poli gigi tutup pukul 12"}),
     ("message", {"text": "tunggu sebentar"}, {"text": "tunggu sebentar"})],
)
def test_command_args_from_the_node_form(name: str, form: dict[str, str],
                                         args: dict[str, Any]) -> None:
    assert command_args(name, form) == args


def test_the_node_page_offers_the_contracts_commands() -> None:
    assert offered_commands()[:3] == ["selftest", "reprint", "announce"]
    assert set(offered_commands()) <= set(schemas().command_names)


@pytest.mark.parametrize(("name", "form"), [("reprint", {}), ("announce", {"text": "  "}),
                                             ("message", {"text": "x" * 301})])
def test_command_args_refused(name: str, form: dict[str, str]) -> None:
    with pytest.raises(BadRequest):
        command_args(name, form)


@pytest.mark.parametrize(
    ("iso", "text"),
    [("2026-11-30T01:14:13+00:00", "30-11-2026 08:14:13 WIB"),
     ("2026-11-30T23:00:00Z", "01-12-2026 06:00:00 WIB"),
     (None, "—"), ("bukan waktu", "bukan waktu")],
)
def test_times_are_shown_in_wib(iso: str | None, text: str) -> None:
    assert labels.when(iso) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "—"), (40, "40 detik"), (720, "12 menit"), (3 * 3600 + 60, "3 jam 1 menit"),
     (2 * 86400 + 5 * 3600, "2 hari 5 jam")],
)
def test_durations_in_words(seconds: float | None, text: str) -> None:
    assert labels.duration(seconds) == text


def test_every_state_has_a_word_and_a_distinct_icon() -> None:
    assert labels.NODE_STATE == {"online": "daring", "silent": "senyap", "offline": "luring"}
    assert len(set(labels.NODE_ICON.values())) == 3
    assert labels.word(labels.NODE_STATE, "rebooting") == "rebooting"  # unknown: shown as is
