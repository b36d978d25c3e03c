"""The real ``brexit node --simulate`` process, SIGKILLed while it publishes, then restarted
on the same data: nothing is lost, its Will carries its session, and the restarted node's
birth has a higher session, so the Will is recognisable as the old session's."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import IO

from brokers import BrokerPair, MqttProbe, wait_until
from test_mqtt_delivery import DELIVERY_TIMEOUT_S, ingest_at
from test_mqtt_link import TOPICS, assert_valid, payloads_on, until_topic

from edge.config import load_config
from edge.queue.outbox import Outbox

REPO = Path(__file__).resolve().parents[1]
BUTTONS = ["A", "B", "C", "D", "next-1", "next-2"]


def node_config(path: Path, pair: BrokerPair) -> Path:
    """The demo puskesmas as node kiosk-1 of janti, with its broker login."""
    demo = (REPO / "edge" / "data" / "demo.toml").read_text(encoding="utf-8")
    demo = demo.replace('node = "demo"', 'node = "kiosk-1"')
    login = pair.node()
    demo += (f'\n[mqtt]\nhost = "{pair.site_lan.host}"\nport = {pair.site_lan.port}\n'
             f'username = "{login.username}"\npassword = "{login.password}"\n')
    path.write_text(demo, encoding="utf-8")
    assert load_config(path).node == "kiosk-1"
    return path


class NodeProcess:
    def __init__(self, config: Path, data: Path, log: Path) -> None:
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edge.cli", "node", "--simulate", "--config", str(config),
             "--data", str(data)],
            stdin=subprocess.PIPE, stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        wait_until(lambda: b"ready " in log.read_bytes(), "the node to be ready")

    @property
    def stdin(self) -> IO[bytes]:
        assert self.proc.stdin is not None
        return self.proc.stdin

    def send(self, *lines: str) -> None:
        self.stdin.write("".join(f"{line}\n" for line in lines).encode())
        self.stdin.flush()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._log.close()

    def quit(self) -> int:
        self.send("quit")
        code = self.proc.wait(timeout=60)
        self._log.close()
        return code


def test_node_killed_mid_publish_loses_nothing(broker_pair: BrokerPair, tmp_path: Path) -> None:
    config, data, log = node_config(tmp_path / "node.toml", broker_pair), tmp_path / "data", \
        tmp_path / "node.log"
    presses = [f"press {BUTTONS[i % len(BUTTONS)]}" for i in range(60)]
    with ingest_at(tmp_path / "ncc.db", broker_pair.central, broker_pair.ncc) as ncc, \
            MqttProbe(broker_pair.central, broker_pair.ncc) as watch:
        watch.subscribe(TOPICS.status)
        first = NodeProcess(config, data, log)
        first.send(*presses)
        wait_until(lambda: len(ncc.seqs("janti", "kiosk-1")) >= 5, "events flowing")
        first.kill()  # presses still queued on its stdin, events still in flight
        seen = watch.collect(until_topic(TOPICS.status, lambda p: not p["online"]))
        second = NodeProcess(config, data, log)
        seen += watch.collect(until_topic(TOPICS.status, lambda p: p["session"] == 2))
        second.send(*presses[:12])
        assert second.quit() == 0
        seen += watch.collect(until_topic(TOPICS.status,
                                          lambda p: p["session"] == 2 and not p["online"]))
        box = Outbox(data / "queue.db")
        total = box.last_seq()
        box.close()
        wait_until(lambda: ncc.seqs("janti", "kiosk-1") == list(range(1, total + 1)),
                   f"seq 1..{total} at the NCC", DELIVERY_TIMEOUT_S)
        events = ncc.events("janti", "kiosk-1")
    statuses = [(p["online"], p["session"]) for p in payloads_on(seen, TOPICS.status)]
    assert statuses == [(True, 1), (False, 1), (True, 2), (False, 2)]
    assert_valid(seen)
    issued = [e["data"]["number"] for e in events if e["type"] == "ticket.issued"]
    with sqlite3.connect(data / "queue.db") as db:
        tickets = [row[0] for row in db.execute("SELECT number FROM ticket ORDER BY id")]
    assert issued == tickets and len(tickets) > 5
    assert {e["type"] for e in events} >= {"queue.reset", "ticket.issued", "ticket.called"}
