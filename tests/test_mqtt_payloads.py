"""Pure parts of the MQTT link: topics, payload builders/parsers, health parsers, backoff,
and the schemas themselves (every built payload validates; known-bad ones do not)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from contract import payloads
from contract.payloads import Status
from contract.schemas import Schemas
from contract.topics import NodeAddress, NodeTopics, ack_address, is_valid_id
from edge.mqtt.health import (
    SystemMetrics,
    cpu_temp_c,
    parse_meminfo,
    parse_millidegrees,
    parse_ntp_synchronized,
    parse_uptime,
    read_system,
)
from edge.mqtt.link import backoff_delay

SCHEMAS = Schemas.load()
UUID = "3f2b8c1e-9a4d-4e1b-8f3a-0c2d4e6f8a1b"


@pytest.mark.parametrize(
    ("value", "valid"),
    [("janti", True), ("kiosk-1", True), ("0", True), ("a" * 32, True), ("a" * 33, False),
     ("-janti", False), ("Janti", False), ("jan ti", False), ("", False), ("jan/ti", False),
     ("jantí", False), ("ncc+", False)],
)
def test_ids(value: str, valid: bool) -> None:
    assert is_valid_id(value) is valid


def test_node_topics_name_every_contract_topic() -> None:
    t = NodeTopics("janti", "kiosk-1")
    assert (t.status, t.health, t.event, t.reply, t.queue, t.ack, t.ncc_status, t.cmd_filter) == (
        "brexit/v1/janti/kiosk-1/status", "brexit/v1/janti/kiosk-1/health",
        "brexit/v1/janti/kiosk-1/event", "brexit/v1/janti/kiosk-1/reply",
        "brexit/v1/janti/queue", "brexit/v1/ncc/ack/janti/kiosk-1", "brexit/v1/ncc/status",
        "brexit/v1/janti/kiosk-1/cmd/+",
    )


@pytest.mark.parametrize(
    ("topic", "name"),
    [("brexit/v1/janti/kiosk-1/cmd/call_next", "call_next"),
     ("brexit/v1/janti/kiosk-1/cmd/", ""),
     ("brexit/v1/janti/kiosk-1/cmd/a/b", None),
     ("brexit/v1/janti/kiosk-2/cmd/call_next", None),
     ("brexit/v1/arjuno/kiosk-1/cmd/call_next", None),
     ("brexit/v1/janti/kiosk-1/event", None)],
)
def test_command_name(topic: str, name: str | None) -> None:
    assert NodeTopics("janti", "kiosk-1").command_name(topic) == name


@pytest.mark.parametrize(
    ("topic", "parsed"),
    [("brexit/v1/janti/kiosk-1/event", NodeAddress("janti", "kiosk-1", "event")),
     ("brexit/v1/janti/kiosk-1/cmd/skip", NodeAddress("janti", "kiosk-1", "cmd/skip")),
     ("brexit/v1/janti/queue", None), ("brexit/v1/ncc/ack/janti/kiosk-1", None),
     ("brexit/v2/janti/k/event", None), ("brexit/v1/Janti/k/event", None)],
)
def test_node_address(topic: str, parsed: NodeAddress | None) -> None:
    assert NodeAddress.parse(topic) == parsed


@pytest.mark.parametrize(
    ("topic", "parsed"),
    [("brexit/v1/ncc/ack/janti/kiosk-1", ("janti", "kiosk-1")),
     ("brexit/v1/ncc/ack/janti", None), ("brexit/v1/ncc/ack/janti/kiosk-1/x", None),
     ("brexit/v1/ncc/status", None), ("brexit/v1/ncc/ack/JANTI/k", None)],
)
def test_ack_address(topic: str, parsed: tuple[str, str] | None) -> None:
    assert ack_address(topic) == parsed


def test_invalid_ids_refused() -> None:
    with pytest.raises(ValueError, match="node"):
        NodeTopics("janti", "Kiosk")


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [(b'{"seq": 0}', (None, 0)), (b'{"seq": 41}', (None, 41)), (b'{"seq": -1}', None),
     (b'{"seq": "4"}', None), (b'{"seq": true}', None), (b'{"seq": 4.0}', None),
     (b"[4]", None), (b"", None), (b"\xff\xfe", None), (b'{"sq": 4}', None),
     (b"[" * 5000, None),
     (b'{"epoch": "9f2c41d07b3e8a65", "seq": 7}', ("9f2c41d07b3e8a65", 7)),
     (b'{"epoch": "v1", "seq": 7}', ("v1", 7)),
     (b'{"epoch": "", "seq": 7}', None), (b'{"epoch": 5, "seq": 7}', None),
     (b'{"epoch": "a b", "seq": 7}', None), (b'{"epoch": "x", "seq": -2}', None)],
)
def test_parse_ack(raw: bytes, parsed: tuple[str | None, int] | None) -> None:
    assert payloads.parse_ack(raw) == parsed


@pytest.mark.parametrize(
    ("raw", "online", "session"),
    [(b'{"online":true,"session":3,"ts":"t","version":"v","roles":["kiosk"]}', True, 3),
     (b'{"online":false,"session":9}', False, 9),
     (b'{"online":"yes","session":9}', None, None),
     (b'{"online":true,"session":"9"}', None, None),
     (b'{"online":true}', None, None), (b"null", None, None)],
)
def test_parse_status(raw: bytes, online: bool | None, session: int | None) -> None:
    status = Status.parse(raw)
    got = None if status is None else (status.online, status.session)
    assert got == (None if online is None else (online, session))


def test_birth_and_will_are_valid_and_will_of_an_older_session_is_stale() -> None:
    birth = payloads.status(online=True, session=7, ts=payloads.now_iso(), version="0.1.0",
                            roles=["kiosk", "caller"])
    will = birth.will()
    for message in (birth, will):
        assert SCHEMAS.errors("status", message.to_dict()) == []
    assert will.to_dict() == {**birth.to_dict(), "online": False}
    newer = payloads.status(online=True, session=8, ts=birth.ts, version="0.1.0", roles=[])
    assert will.is_stale_after(newer) and not newer.will().is_stale_after(newer)


def test_now_iso_has_the_jakarta_offset() -> None:
    assert payloads.now_iso().endswith("+07:00")


@pytest.mark.parametrize(
    ("reply", "valid"),
    [(payloads.reply(UUID, ok=True, data={"number": "A-001"}), True),
     (payloads.reply(None, ok=False, error="missing id"), True),
     (payloads.reply(UUID, ok=False), False),  # a failure must say why
     (payloads.reply(UUID, ok=True, error="x"), False),
     ({"id": 5, "ok": False, "error": "x"}, False)],
)
def test_reply_schema(reply: dict[str, Any], valid: bool) -> None:
    assert (SCHEMAS.errors("reply", reply) == []) is valid


def _event(type_: str, data: dict[str, Any], **over: Any) -> dict[str, Any]:
    env = {"id": UUID, "site": "janti", "node": "kiosk-1", "epoch": "9f2c41d07b3e8a65",
           "seq": 1, "ts": "2026-11-29T08:00:00+07:00", "type": type_, "data": data}
    return {**env, **over}


@pytest.mark.parametrize(
    ("event", "valid"),
    [(_event("ticket.issued", {"number": "A-001", "service": "A", "assisted": True, "ahead": 0,
                               "day": "2026-11-29", "source": "kiosk"}), True),
     (_event("ticket.called", {"number": "A-001", "service": "A", "counter": 1,
                               "assisted": False}), True),
     (_event("ticket.transferred", {"number": "A-001", "from": "A", "to": "B",
                                    "counter": 1}), True),
     (_event("device.fault", {"device": "printer", "state": "paper_out", "detail": ""}), True),
     (_event("help.requested", {"source": "kiosk-1"}), True),
     (_event("ticket.issued", {"number": "A-001"}), False),
     (_event("ticket.called", {"number": "A1", "counter": 1}), False),
     (_event("ticket.flew", {}), False),
     (_event("help.requested", {}, seq=0), False),
     (_event("help.requested", {}, site="Janti"), False),
     (_event("help.requested", {}, extra=1), False),
     (_event("help.requested", {}, epoch="a b"), False),
     ({k: v for k, v in _event("help.requested", {}).items() if k != "epoch"}, False)],
)
def test_event_schema(event: dict[str, Any], valid: bool) -> None:
    assert (SCHEMAS.errors("event", event) == []) is valid


@pytest.mark.parametrize(
    ("snapshot", "valid"),
    [({"ts": "2026-11-29T08:00:00+07:00", "waiting": {"A": 3, "B": 0},
       "serving": {"1": "A-004", "2": None},
       "last_called": {"number": "A-004", "counter": 1, "ts": "2026-11-29T08:00:00+07:00"}},
      True),
     ({"ts": "2026-11-29T08:00:00+07:00", "waiting": {}, "serving": {}, "last_called": None},
      True),
     ({"ts": "2026-11-29T08:00:00+07:00", "waiting": {"a": 1}, "serving": {},
       "last_called": None}, False),
     ({"waiting": {}, "serving": {}, "last_called": None}, False)],
)
def test_queue_schema(snapshot: dict[str, Any], valid: bool) -> None:
    assert (SCHEMAS.errors("queue", snapshot) == []) is valid


@pytest.mark.parametrize(
    ("text", "value"),
    [("48312\n", 48.3), ("0", 0.0), ("-5000", -5.0), ("hot", None), ("", None)],
)
def test_parse_millidegrees(text: str, value: float | None) -> None:
    assert parse_millidegrees(text) == value


def test_parse_meminfo() -> None:
    text = "MemTotal:  1000 kB\nMemFree: 10 kB\nMemAvailable:   250 kB\nHugePages_Total: 0\n"
    assert parse_meminfo(text) == (250 * 1024, 1000 * 1024)
    assert parse_meminfo("") == (None, None)


@pytest.mark.parametrize(
    ("text", "value"), [("330.68 585.83\n", 330.68), ("", None), ("x y", None)]
)
def test_parse_uptime(text: str, value: float | None) -> None:
    assert parse_uptime(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [("NTPSynchronized=yes\n", True), ("NTPSynchronized=no", False),
     ("NTPSynchronized=maybe", None), ("Timezone=Asia/Jakarta", None), ("", None)],
)
def test_parse_ntp_synchronized(text: str, value: bool | None) -> None:
    assert parse_ntp_synchronized(text) == value


def test_cpu_temp_from_a_thermal_tree(tmp_path: Path) -> None:
    (tmp_path / "thermal_zone0").mkdir()
    (tmp_path / "thermal_zone0" / "temp").write_text("51234\n")
    assert cpu_temp_c(tmp_path) == 51.2
    assert cpu_temp_c(tmp_path / "missing") is None


def test_system_metrics_read_from_this_machine(tmp_path: Path) -> None:
    metrics = read_system(tmp_path)
    assert 0 < metrics.disk_free_bytes <= metrics.disk_total_bytes
    assert metrics.uptime_s is not None and metrics.uptime_s > 0
    assert metrics.mem_total_bytes is not None and metrics.mem_available_bytes is not None
    assert metrics.clock_synced in (True, False, None)
    assert SystemMetrics(None, 1, 4, None, None, None, None).to_dict()["disk_used_pct"] == 75.0


@pytest.mark.parametrize(
    ("attempt", "jitter", "delay"),
    [(1, 1.0, 0.5), (2, 1.0, 1.0), (3, 1.0, 2.0), (6, 1.0, 16.0), (7, 1.0, 30.0),
     (500, 1.0, 30.0), (3, 0.5, 1.0)],
)
def test_backoff_doubles_up_to_the_ceiling(attempt: int, jitter: float, delay: float) -> None:
    assert backoff_delay(attempt, 0.5, 30.0, jitter) == delay


def test_every_schema_is_draft_2020_12_and_every_command_has_one() -> None:
    from edge.mqtt.commands import COMMAND_NAMES

    assert SCHEMAS.command_names == COMMAND_NAMES
    for name in ("status", "health", "event", "reply", "queue", "ack", "ncc_status"):
        schema = SCHEMAS.validators[name].schema
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
