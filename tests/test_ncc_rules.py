"""Node state, alarm conditions, hold-down and ncc.toml, from tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ncc.alarms import Condition, HoldDown, NodeFacts, conditions, describe, site_unreachable
from ncc.config import AlarmSettings, ConfigError, load_config, parse_config
from ncc.state import NodeState, node_state

S = AlarmSettings()  # silent after 75 s, hold-down 60 s


@pytest.mark.parametrize(
    ("online", "status_at", "health_at", "now", "state"),
    [
        (None, None, None, 10.0, NodeState.OFFLINE),  # never a status
        (False, 100.0, 100.0, 101.0, NodeState.OFFLINE),
        (True, 100.0, None, 170.0, NodeState.ONLINE),  # born, first health not due yet
        (True, 100.0, None, 176.0, NodeState.SILENT),  # born, never a health
        (True, 100.0, 150.0, 220.0, NodeState.ONLINE),
        (True, 100.0, 150.0, 226.0, NodeState.SILENT),
        (True, 200.0, 150.0, 270.0, NodeState.ONLINE),  # re-born: count from the birth
        (True, 200.0, 150.0, 276.0, NodeState.SILENT),
    ],
)
def test_node_state(online: bool | None, status_at: float | None, health_at: float | None,
                    now: float, state: NodeState) -> None:
    assert node_state(online=online, status_at=status_at, health_at=health_at, now=now,
                      silent_after_s=S.silent_after_s) is state


def _health(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "system": {"disk_used_pct": 40.0},
        "outbox": {"backlog": 3, "warn_above": 10, "warning": False},
        "certificates": [{"name": "ca", "days_left": 59, "state": "ok",
                          "not_after": "1970-03-01T00:00:00+00:00"}],  # day 59
    }
    return {**base, **over}


def facts(state: NodeState = NodeState.ONLINE, health: dict[str, Any] | None = None,
          devices: dict[str, str] | None = None, version: str = "0.1.0",
          skew: float | None = None) -> NodeFacts:
    return NodeFacts(state, health if health is not None else _health(),
                     {k: {"state": v} for k, v in (devices or {}).items()}, version, skew)


@pytest.mark.parametrize(
    ("node", "target", "kinds"),
    [
        (facts(), "0.1.0", {}),
        (facts(NodeState.OFFLINE, devices={"printer": "paper_out"}), None,
         {"offline": "critical"}),  # offline says it all
        (facts(NodeState.SILENT), None, {"silent": "warning"}),
        (facts(devices={"printer": "paper_out", "embosser": "disabled", "cells": "error",
                        "buttons": "stuck", "speaker": "ok"}), None,
         {"printer": "critical", "cells": "warning", "buttons": "critical"}),
        (facts(health=_health(system={"disk_used_pct": 95.0})), None, {"storage": "warning"}),
        (facts(health=_health(outbox={"backlog": 11, "warn_above": 10, "warning": True})),
         None, {"backlog": "warning"}),
        (facts(health=_health(certificates=[
            {"name": "ca", "days_left": 59, "state": "ok", "not_after": "1970-03-01T00:00:00Z"},
            {"name": "broker", "days_left": 19, "state": "warning",
             "not_after": "1970-01-20T00:00:00+00:00"}])), None, {"certificate": "warning"}),
        (facts(devices={"storage": "full", "bpjs": "refused"}), None,
         {"storage": "warning", "bpjs": "warning"}),
        (facts(skew=61.0), None, {"clock_skew": "warning"}),
        (facts(skew=-59.0), None, {}),
        (facts(version="0.0.9"), "0.1.0", {"version": "info"}),
        (facts(version="0.0.9"), None, {}),
    ],
)
def test_conditions(node: NodeFacts, target: str | None, kinds: dict[str, str]) -> None:
    found = conditions(node, now=0.0, settings=S, target_version=target)
    assert {k: c.severity for k, c in found.items()} == kinds


@pytest.mark.parametrize(
    ("kind", "detail", "text"),
    [("printer", "paper_out", "Printer: kertas habis"),
     ("embosser", "offline", "Embosser Braille: tidak terhubung"),
     ("cells", "error", "Sel Braille: galat"),
     ("buttons", "stuck", "Tombol: macet"),
     ("offline", "luring", "Node luring"),
     ("site_unreachable", "x", "Puskesmas tidak terjangkau"),
     ("scanner", "error", "Perangkat scanner: galat")],
)
def test_indonesian_labels(kind: str, detail: str, text: str) -> None:
    assert describe(kind, detail) == text


OFF, ON, SIL = NodeState.OFFLINE, NodeState.ONLINE, NodeState.SILENT


@pytest.mark.parametrize(
    ("states", "unreachable"),
    [([OFF, OFF], True), ([OFF, SIL], True), ([OFF, ON], False), ([OFF], False),
     ([], False), ([OFF, OFF, OFF], True)],
)
def test_site_unreachable(states: list[NodeState], unreachable: bool) -> None:
    assert site_unreachable(states, 2) is unreachable


K = ("janti", "k1", "offline")
C = Condition("luring", "critical")


def test_hold_down_flapping_never_fires_and_a_lasting_cause_fires_once() -> None:
    h = HoldDown(60)
    for t in (0, 30, 59):  # present, gone, present... never 60 s in a row
        assert h.step({K: C} if t != 30 else {}, open_keys={}, now=t).to_open == {}
    assert h.step({K: C}, open_keys={}, now=118).to_open == {}
    assert list(h.step({K: C}, open_keys={}, now=119).to_open) == [K]
    assert h.step({K: C}, open_keys={K: "luring"}, now=200).to_open == {}


def test_hold_down_update_clear_and_frozen() -> None:
    h = HoldDown(0)
    d = h.step({K: Condition("other", "critical")}, open_keys={K: "luring"}, now=0)
    assert list(d.to_update) == [K] and d.to_clear == ()
    assert h.step({}, open_keys={K: "luring"}, now=1, frozen=frozenset({K})).to_clear == ()
    assert h.step({K: C}, open_keys={}, now=2, frozen=frozenset({K})).to_open == {}
    assert h.step({}, open_keys={K: "luring"}, now=3).to_clear == (K,)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[mqtt]\nhost = 'x'\n", "mqtt.username: required"),
        ("[mqtt]\nallow_anonymous = 'yes'\n", "mqtt.allow_anonymous: expected true or false"),
        ("[mqtt]\nallow_anonymous = true\nport = 70000\n", "mqtt.port: expected a port"),
        ("[mqtt]\nusername = 'ncc'\npassword_file = 'nope'\n", "mqtt.password_file: cannot"),
        ("[mqtt]\nallow_anonymous = true\n[http]\nlisten = '8080'\n", "http.listen: '8080'"),
        ("[mqtt]\nallow_anonymous = true\n[alarms]\nhold_down = 5\n",
         "alarms.hold_down: unknown key"),
        ("[mqtt]\nallow_anonymous = true\n[notify]\nwebhook_url = 'ftp://x'\n",
         "notify.webhook_url: 'ftp://x' is not"),
        ("[mqtt]\nallow_anonymous = true\n[webui]\n", "webui: unknown section"),
        ("mqtt = 3\n", "mqtt: expected a table"),
        ("[mqtt\n", "not TOML"),
    ],
)
def test_config_errors_name_the_field(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "ncc.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=error.replace("(", r"\(")) as e:
        load_config(path)
    assert str(e.value).startswith(str(path))


def test_config_values_and_paths_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "ncc.password").write_text("s3cret\n", encoding="utf-8")
    config = parse_config({
        "mqtt": {"host": "mqtt.ncc", "port": 8883, "username": "ncc",
                 "password_file": "ncc.password", "tls_ca": "ca.crt"},
        "store": {"path": "db/ncc.db", "health_days": 7},
        "http": {"listen": "0.0.0.0:9000", "metrics_open": False},
        "alarms": {"hold_down_s": 30, "silent_after_intervals": 3},
        "notify": {"webhook_url": "http://hooks.local/ncc"},
        "fleet": {"target_version": "0.2.0"},
    }, tmp_path / "ncc.toml")
    assert config.mqtt.password == "s3cret" and config.mqtt.tls_ca == tmp_path / "ca.crt"
    assert config.store.path == tmp_path / "db" / "ncc.db" and config.store.health_days == 7
    assert config.http.listen == ("0.0.0.0", 9000) and config.http.metrics_open is False
    assert config.alarms.silent_after_s == 90.0
    assert config.fleet.target_version == "0.2.0"
    default = load_config(None)
    assert (default.mqtt.host, default.mqtt.port, default.http.listen) == (
        "127.0.0.1", 1883, ("127.0.0.1", 8080))
    assert default.store.path == Path("data/ncc/ncc.db")


def test_hold_down_counts_from_when_the_condition_began() -> None:
    h = HoldDown(60)  # a fresh evaluator (the NCC restarted) sees a Will received at 0
    assert h.step({K: C}, open_keys={}, now=30, began={K: 0.0}).to_open == {}
    assert list(h.step({K: C}, open_keys={}, now=60, began={K: 0.0}).to_open) == [K]


def test_hold_down_of_a_thawed_node_starts_again() -> None:
    h = HoldDown(60)  # its site was unreachable until 100: the node holds anew from there
    h.step({K: C}, open_keys={}, now=100, began={K: 0.0}, frozen=frozenset({K}))
    assert h.step({K: C}, open_keys={}, now=159, began={K: 0.0}).to_open == {}
    assert list(h.step({K: C}, open_keys={}, now=160, began={K: 0.0}).to_open) == [K]


def test_hold_down_from_an_old_start_still_waits_a_moment_after_first_seen() -> None:
    h = HoldDown(60, min_seen_s=5)  # the other nodes of a site going away: 5 s to be seen
    assert h.step({K: C}, open_keys={}, now=100, began={K: 0.0}).to_open == {}
    assert list(h.step({K: C}, open_keys={}, now=105, began={K: 0.0}).to_open) == [K]


def test_hold_down_of_the_first_whole_pass_needs_no_moment() -> None:
    h = HoldDown(60, min_seen_s=5)  # the first pass after a start sees the stored fleet whole
    assert list(h.step({K: C}, open_keys={}, now=100, began={K: 0.0}, whole=True).to_open) \
        == [K]
