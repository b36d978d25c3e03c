"""The hold-down counts from when a condition began, so a fault that spans an NCC restart
does not wait a second hold-down; nodes whose silent deadline passes are re-evaluated
without any new message (the evaluator visits only changed and due nodes)."""

from __future__ import annotations

from pathlib import Path

from test_ncc_store import TS, health

from contract.fleet import Fleet, parse_fleet
from ncc.config import AlarmSettings, MqttSettings, NccConfig, NotifySettings, StoreSettings
from ncc.messages import HealthMsg, StatusMsg
from ncc.monitor import Monitor
from ncc.store import SqliteStore

HOLD_S = 60.0


def fleet() -> Fleet:
    return parse_fleet({"site": [{"id": "janti", "name": "Janti", "kecamatan": "Sukun",
                                  "nodes": [{"id": "k1", "roles": ["kiosk"]},
                                            {"id": "k2", "roles": ["caller"]}]}]})


def config(tmp: Path) -> NccConfig:
    return NccConfig(mqtt=MqttSettings(port=1), store=StoreSettings(path=tmp / "ncc.db"),
                     alarms=AlarmSettings(hold_down_s=HOLD_S, health_interval_s=30.0),
                     notify=NotifySettings())


def status(node: str, online: bool, received: float) -> StatusMsg:
    return StatusMsg("janti", node, online, 1, TS, "0.1.0", ("kiosk",), received)


def node_health(node: str, received: float) -> HealthMsg:
    # retained: no clock skew from the test's made-up times; a ts of its own each time
    payload = {**health().payload, "ts": f"2026-11-30T08:{received % 60:02.0f}:00+07:00"}
    return HealthMsg("janti", node, payload, True, received)


def kinds(monitor: Monitor) -> set[tuple[str | None, str]]:
    return {(a["node"], a["kind"]) for a in monitor.alarms()}


def test_an_offline_node_alarms_one_hold_down_after_its_will_across_a_restart(
        tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "ncc.db")
    store.apply([status("k1", True, 1000.0), status("k2", True, 1000.0),
                 node_health("k2", 1000.0), node_health("k1", 1000.0)])
    store.apply([status("k1", False, 1010.0)])  # k1's Will
    first = Monitor(config(tmp_path), fleet=fleet(), store=store)
    first.evaluate(now=1040.0)
    assert kinds(first) == set()
    first.store.close()  # the NCC stops; a new one starts 30 s into the hold-down
    second = Monitor(config(tmp_path), fleet=fleet())
    second.evaluate(now=1069.0)
    assert kinds(second) == set()
    second.evaluate(now=1070.0)  # one hold-down after the Will, not after the restart
    assert kinds(second) == {("k1", "offline")}
    second.store.close()


def test_a_will_seen_late_waits_a_moment_for_the_rest_of_its_site(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "ncc.db")
    store.apply([status("k1", True, 1000.0), status("k2", True, 1000.0),
                 node_health("k1", 1000.0), node_health("k2", 1000.0)])
    monitor = Monitor(config(tmp_path), fleet=fleet(), store=store)
    monitor.evaluate(now=1001.0)
    # k1's Will was received at 1010 but its batch is evaluated only at 1100 (a busy NCC)
    monitor._on_batch(store.apply([status("k1", False, 1010.0), node_health("k2", 1090.0)]))
    monitor.evaluate(now=1100.0)
    assert kinds(monitor) == set()  # k2 may be going too: the site's alarm would stand
    monitor.evaluate(now=1105.0)
    assert kinds(monitor) == {("k1", "offline")}
    store.close()


def test_a_node_turns_silent_at_its_deadline_without_a_message(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "ncc.db")
    store.apply([status("k1", True, 1000.0), status("k2", True, 1000.0),
                 node_health("k1", 1000.0), node_health("k2", 1000.0)])
    monitor = Monitor(config(tmp_path), fleet=fleet(), store=store)
    monitor.evaluate(now=1001.0)
    monitor._on_batch(store.apply([node_health("k2", 1070.0)]))  # k1 sends nothing
    monitor.evaluate(now=1076.0)  # k1: last health 1000 + 75 s silent time
    assert monitor.node_state_of("janti", "k1") == "silent"
    monitor.evaluate(now=1076.0 + HOLD_S)
    assert kinds(monitor) == {("k1", "silent")}
    store.close()
