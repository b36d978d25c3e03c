"""The NCC watching a real ``brexit node --simulate`` process through the site broker and
its bridge: killed, the node's Will makes it offline and the alarm opens after the
hold-down; restarted, the alarm clears. Stopped (SIGSTOP), its TCP session lives on but
its health stops: silent, then online again when it continues."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from brokers import BrokerPair, wait_until
from ncc_helpers import ncc_config, open_alarm, pair_fleet, running, wait_state
from nodeproc import NodeProcess
from test_mqtt_node_process import node_config

HEALTH_S = 1.0


def live_node_config(path: Path, pair: BrokerPair) -> Path:
    config = node_config(path, pair)
    with config.open("a", encoding="utf-8") as f:
        f.write(f"health_interval_s = {HEALTH_S}\n")
    return config


def test_killed_node_alarm_after_hold_down_and_clears_on_return(
    broker_pair: BrokerPair, tmp_path: Path
) -> None:
    config = live_node_config(tmp_path / "node.toml", broker_pair)
    ncc = ncc_config(broker_pair, tmp_path, hold_down_s=2.0, health_interval_s=HEALTH_S,
                     silent_after_intervals=5.0)
    with running(ncc, pair_fleet(broker_pair)) as monitor:
        node = NodeProcess(tmp_path / "data", config=config)
        try:
            wait_state(monitor, "janti", "kiosk-1", "online")
            node.send("press A")
            wait_until(lambda: monitor.ingest.contiguous("janti", "kiosk-1") >= 2,
                       "the ticket acked")
            node.kill()
            wait_state(monitor, "janti", "kiosk-1", "offline")
            alarm = open_alarm(monitor, "janti", "kiosk-1", "offline")
            row = monitor.store.alarm(alarm["id"])
            went = next(r for r in monitor.store.nodes() if r.node == "kiosk-1").status_at
            node = NodeProcess(tmp_path / "data", config=config)
            wait_state(monitor, "janti", "kiosk-1", "online")
            wait_until(lambda: monitor.alarms(site="janti") == [], "the alarm to clear")
            view = monitor.node("janti", "kiosk-1")
            cleared = monitor.alarms(state="all", site="janti")[0]
        finally:
            node.kill()
    assert alarm["severity"] == "critical" and alarm["node"] == "kiosk-1"
    assert row is not None and went is not None
    assert row.since - went >= 2.0  # the hold-down: opened only once offline that long
    assert cleared["id"] == alarm["id"] and cleared["state"] == "cleared"
    assert view is not None and view["session"] == 2 and view["epoch"]
    assert [e["type"] for e in view["recent_events"]][:1] == ["ticket.issued"]


def test_stopped_node_goes_silent_and_comes_back(broker_pair: BrokerPair,
                                                 tmp_path: Path) -> None:
    config = live_node_config(tmp_path / "node.toml", broker_pair)
    ncc = ncc_config(broker_pair, tmp_path, hold_down_s=1.0, health_interval_s=HEALTH_S,
                     silent_after_intervals=3.0)
    with running(ncc, pair_fleet(broker_pair)) as monitor:
        node = NodeProcess(tmp_path / "data", config=config)
        try:
            wait_state(monitor, "janti", "kiosk-1", "online")
            os.kill(node.proc.pid, signal.SIGSTOP)
            wait_state(monitor, "janti", "kiosk-1", "silent")
            alarm = open_alarm(monitor, "janti", "kiosk-1", "silent")
            os.kill(node.proc.pid, signal.SIGCONT)
            wait_state(monitor, "janti", "kiosk-1", "online")
            wait_until(lambda: monitor.alarms(site="janti") == [], "the alarm to clear")
        finally:
            os.kill(node.proc.pid, signal.SIGCONT)
            node.kill()
    assert alarm["kind"] == "silent" and alarm["severity"] == "warning"
