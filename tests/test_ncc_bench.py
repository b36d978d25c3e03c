"""The benchmarks at small sizes: they run, print JSON as the last line, and check what
they claim (every event stored once, none lost). Speeds are measured, never asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def brexit(*args: str, timeout: float = 600) -> tuple[int, list[str], str]:
    done = subprocess.run([sys.executable, "-m", "edge.cli", "ncc", "bench", *args],
                          capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout.splitlines(), done.stderr


def last_json(lines: list[str]) -> dict[str, Any]:
    assert lines, "no output"
    result = json.loads(lines[-1])
    assert isinstance(result, dict)
    return result


def test_ingest_drains_the_backlog_and_stores_every_message_once(tmp_path: Path) -> None:
    code, out, err = brexit("ingest", "--messages", "3000", "--nodes", "7",
                            "--keep", str(tmp_path))
    assert code == 0, err
    r = last_json(out)
    assert r["bench"] == "ingest" and r["messages"] == 3000
    assert r["stored_exactly_once"] is True
    assert r["rows"] == r["distinct"] == r["stored"] == 3000 and r["nodes_not_exact"] == 0
    assert r["mosquitto_sub_msg_s"] > 0 and r["ncc_msg_s"] > 0
    assert r["ratio"] == pytest.approx(r["ncc_msg_s"] / r["mosquitto_sub_msg_s"], rel=0.01)
    assert r["machine"]["cpus"] >= 1


def fleet_args(tmp: Path) -> list[str]:
    return ["fleet", "--sites", "30", "--duration", "24", "--kill-at", "12", "--down", "2",
            "--fault-rate", "60", "--fault-s", "20", "--will-after", "2", "--hold-down", "2",
            "--health-interval", "4", "--keep", str(tmp)]


def check_fleet(r: dict[str, Any], broker: str) -> None:
    assert r["bench"] == "fleet" and r["broker"] == broker and r["nodes"] == 90
    assert r["events_sent"] > 0
    assert r["events_lost"] == 0 and r["events_stored_twice"] == 0
    assert r["events_stored"] == r["events_sent"] and r["events_not_stored_at_end"] == 0
    assert r["simulator"]["unacked"] == 0 and r["simulator"]["error"] is None
    restart = r["restart"]
    assert restart["nodes_current"] == restart["nodes_known"]
    assert restart["nodes_known"] + restart["nodes_never_seen"] == 90
    assert restart["state_current_after_s"] >= 0
    for kind in ("overview", "site_page", "node_page", "api_nodes", "api_alarms"):
        assert r["latency"][kind]["n"] > 0, kind
    assert r["latency"]["errors"] == {}
    assert r["ncc_rss_max_mib"] > 0 and r["ncc_cpu_pct_of_one_core"] is not None
    # every stored event has a lag: in the steady run, or waiting for the restart
    assert (r["ingest_lag_p99_s"] is not None) or r["restart_window_events"] == r["events_stored"]
    assert (r["restart_window_lag_p99_s"] is not None) == (r["restart_window_events"] > 0)


def test_fleet_with_a_restart_under_load_loses_nothing(tmp_path: Path) -> None:
    code, out, err = brexit(*fleet_args(tmp_path))
    assert code == 0, err + "\n".join(out[-5:])
    r = last_json(out)
    check_fleet(r, "mosquitto")
    assert r["restart"]["nodes_known"] > 0, "the NCC knew nodes when it was killed"
    assert r["notifications"], "the injected faults raised alarms that were notified"
    assert (tmp_path / "record.json").is_file() and (tmp_path / "ncc.db").is_file()


def test_fleet_on_a_nats_jetstream_cluster(tmp_path: Path) -> None:
    code, out, err = brexit(*fleet_args(tmp_path), "--nats")
    assert code == 0, err + "\n".join(out[-5:])
    check_fleet(last_json(out), "nats")


@pytest.mark.parametrize(("args", "named"), [
    (["ingest", "--messages", "0"], "--messages"),
    (["ingest", "--nodes", "0"], "--nodes"),
    (["fleet", "--sites", "0"], "--sites"),
    (["fleet", "--duration", "5"], "--duration"),
    (["fleet", "--duration", "30", "--kill-at", "40"], "--kill-at"),
    (["fleet", "--broker", "nope"], "--broker"),
])
def test_bad_options_are_one_line(args: list[str], named: str) -> None:
    code, _, err = brexit(*args, timeout=60)
    assert code == 2 and err.count("\n") == 1 and named in err and "Traceback" not in err
