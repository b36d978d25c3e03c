"""``brexit ncc bench ingest``: the NCC's ingest against ``mosquitto_sub`` on one backlog.

On one freshly started Mosquitto (``max_queued_messages 0``): both persistent sessions
are made first (the NCC's ingest connects and subscribes, ``mosquitto_sub -c`` likewise),
then the backlog of event envelopes is published while both are away (paho, QoS 1), then each
drains alone: ``mosquitto_sub`` (received, nothing else) and the NCC (received, decoded,
deduplicated, committed to the store, acked). Every message must be stored exactly once.
"""

from __future__ import annotations

import json
import resource
import shutil
import sqlite3
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract.payloads import encode
from contract.topics import NodeTopics
from ncc.bench.broker import HOST, BenchBroker, BenchError
from ncc.bench.machine import machine
from ncc.simulate.check import ContractCheck

EVENT_FILTER = "brexit/v1/+/+/event"
SUB_ID = "bench-mosquitto-sub"
NCC_ID = "bench-ncc"
DRAIN_TIMEOUT_S = 600.0
CHUNK = 50_000  # publications awaited at a time (MQTT message ids wrap at 65,535)


@dataclass(frozen=True)
class Backlog:
    """``messages`` event envelopes from ``nodes`` nodes (gap-free seq from 1 each)."""

    messages: int
    nodes: int

    def per_node(self) -> list[int]:
        base, extra = divmod(self.messages, self.nodes)
        return [base + (1 if i < extra else 0) for i in range(self.nodes)]

    def lines(self, node_index: int, count: int) -> Iterator[bytes]:
        """One node's envelopes, one JSON per line (what ``mosquitto_pub -l`` sends).

        >>> b = Backlog(3, 2)
        >>> [json.loads(x)["seq"] for x in b.lines(0, 2)]
        [1, 2]
        """
        site, node = self.address(node_index)
        epoch = f"bench{node_index:05d}"
        check = _check()
        for seq in range(1, count + 1):
            envelope = {
                "id": str(uuid.UUID(int=node_index << 64 | seq)), "site": site, "node": node,
                "epoch": epoch, "seq": seq, "ts": "2026-11-30T08:30:00.000+07:00",
                "type": "ticket.issued",
                "data": {"number": f"A-{seq % 10000:03d}", "service": "A", "assisted": False,
                         "ahead": seq % 40},
            }
            check("event", envelope)
            yield encode(envelope)

    @staticmethod
    def address(node_index: int) -> tuple[str, str]:
        return f"bench-{node_index // 3:04d}", f"node-{node_index % 3}"


_CHECK: list[ContractCheck] = []


def _check() -> ContractCheck:
    if not _CHECK:
        _CHECK.append(ContractCheck(full_every=1000))
    return _CHECK[0]


def _run(argv: list[str], timeout: float, **kw: Any) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(argv, capture_output=True, timeout=timeout, check=False, **kw)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{argv[0]} did not finish within {timeout:.0f} s") from None


def _sub_argv(port: int, count: int | None) -> list[str]:
    argv = ["mosquitto_sub", "-h", HOST, "-p", str(port), "-c", "-i", SUB_ID, "-q", "1",
            "-t", EVENT_FILTER]
    return argv + (["-C", str(count)] if count else ["-E"])


def publish_backlog(port: int, backlog: Backlog) -> None:
    """The backlog through one paho client (QoS 1, 1,000 in flight), every PUBACK awaited.

    In chunks of 50,000: message ids are 16 bits, so more than 65,535 unacknowledged
    publications collide (``mosquitto_pub -l -q 1`` 2.0.11 stops early there for the same
    reason; it also sends one message per round trip here, paho is far faster)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-publisher",
                         protocol=mqtt.MQTTv311)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(HOST, port)
    client.loop_start()
    try:
        infos: list[mqtt.MQTTMessageInfo] = []
        for i, count in enumerate(backlog.per_node()):
            topic = NodeTopics(*backlog.address(i)).event
            for line in backlog.lines(i, count):
                infos.append(client.publish(topic, line, qos=1))
                if len(infos) >= CHUNK:  # message ids are 16 bits: never 65,535 in flight
                    _wait_published(infos)
                    infos = []
        _wait_published(infos)
    finally:
        client.loop_stop()
        client.disconnect()


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _wait_published(infos: list[Any]) -> None:
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    for info in infos:
        info.wait_for_publish(max(0.1, deadline - time.monotonic()))
        if not info.is_published():
            raise BenchError("the backlog was not all acknowledged by the broker")


def drain_mosquitto_sub(port: int, messages: int) -> tuple[float, float]:
    """Seconds to drain, and the CPU seconds mosquitto_sub used."""
    cpu = _children_cpu()
    started = time.monotonic()
    with subprocess.Popen(_sub_argv(port, messages), stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL) as proc:
        assert proc.stdout is not None
        lines = 0
        for _ in proc.stdout:
            lines += 1
        proc.wait(DRAIN_TIMEOUT_S)
    elapsed = time.monotonic() - started
    if lines != messages:
        raise BenchError(f"mosquitto_sub drained {lines} of {messages} messages")
    return elapsed, _children_cpu() - cpu


def _ingest(db: Path, port: int) -> Any:
    from ncc.ingest import Ingest

    return Ingest(db, host=HOST, port=port, client_id=NCC_ID)


def make_ncc_session(db: Path, port: int) -> None:
    ingest = _ingest(db, port).start()
    try:
        if not ingest.wait_connected(30):
            raise BenchError(f"the NCC ingest did not connect: {ingest.last_error}")
        time.sleep(0.5)  # the SUBACK
    finally:
        ingest.close()


def drain_ncc(db: Path, port: int, messages: int) -> tuple[float, float, dict[str, int]]:
    """Seconds to drain, the CPU seconds of this process meanwhile (the ingest thread: the
    main thread only polls), and the ingest's counts."""
    from ncc.runtime import tune_gc

    ingest = _ingest(db, port)
    tune_gc()  # as `brexit ncc serve` runs
    cpu = time.process_time()
    started = time.monotonic()
    ingest.start()
    try:
        deadline = started + DRAIN_TIMEOUT_S
        while ingest.stats().stored < messages:
            if time.monotonic() > deadline:
                raise BenchError(f"the NCC stored {ingest.stats().stored} of {messages} "
                                 f"within {DRAIN_TIMEOUT_S:.0f} s")
            time.sleep(0.02)
        elapsed = time.monotonic() - started
        used = time.process_time() - cpu
        s = ingest.stats()
        return elapsed, used, {"stored": s.stored, "duplicates": s.duplicates,
                               "rejected": s.rejected}
    finally:
        ingest.close()


def stored_once(db: Path, backlog: Backlog) -> dict[str, int]:
    """Rows, distinct (site, node, epoch, seq), and nodes whose seqs are not exactly 1..n."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT count(*) FROM event").fetchone()[0]
        distinct = con.execute("SELECT count(*) FROM (SELECT DISTINCT site, node, epoch, seq"
                               " FROM event)").fetchone()[0]
        per = {(s, n): (c, m) for s, n, c, m in con.execute(
            "SELECT site, node, count(*), max(seq) FROM event GROUP BY site, node")}
    finally:
        con.close()
    wrong = sum(1 for i, count in enumerate(backlog.per_node())
                if per.get(Backlog.address(i)) != (count, count))
    return {"rows": rows, "distinct": distinct, "nodes_not_exact": wrong}


def run(messages: int, nodes: int, *, keep: Path | None = None) -> dict[str, Any]:
    for tool in ("mosquitto", "mosquitto_pub", "mosquitto_sub"):
        if shutil.which(tool) is None:
            raise BenchError(f"{tool} is not installed (./setup.sh installs it)")
    root = keep or Path(tempfile.mkdtemp(prefix="brexit-bench-ingest-"))
    root.mkdir(parents=True, exist_ok=True)
    backlog = Backlog(messages, min(nodes, messages))
    info = machine()
    try:
        with BenchBroker(root) as broker:
            db = root / "ncc.db"
            make_ncc_session(root / "session.db", broker.port)
            _run(_sub_argv(broker.port, None), 30)
            t = time.monotonic()
            publish_backlog(broker.port, backlog)
            published_s = time.monotonic() - t
            print(f"backlog: {messages} events from {backlog.nodes} nodes published in "
                  f"{published_s:.1f} s", flush=True)
            sub_s, sub_cpu = drain_mosquitto_sub(broker.port, messages)
            print(f"mosquitto_sub: {messages / sub_s:,.0f} msg/s ({sub_s:.2f} s)", flush=True)
            ncc_s, ncc_cpu, stats = drain_ncc(db, broker.port, messages)
            print(f"NCC ingest: {messages / ncc_s:,.0f} msg/s ({ncc_s:.2f} s)", flush=True)
        check = stored_once(db, backlog)
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)
    exact = check["rows"] == check["distinct"] == messages and check["nodes_not_exact"] == 0
    return {"bench": "ingest", "messages": messages, "nodes": backlog.nodes,
            "mosquitto_sub_msg_s": round(messages / sub_s), "ncc_msg_s": round(messages / ncc_s),
            "ratio": round(sub_s / ncc_s, 3),
            "ratio_cpu": round(sub_cpu / ncc_cpu, 3) if ncc_cpu > 0 else None,
            "mosquitto_sub_cpu_s": round(sub_cpu, 2), "ncc_cpu_s": round(ncc_cpu, 2),
            "ncc_us_per_message_cpu": round(ncc_cpu / messages * 1e6, 1),
            "mosquitto_sub_us_per_message_cpu": round(sub_cpu / messages * 1e6, 1),
            "stored_exactly_once": exact, **check, **stats,
            "machine": info}


def main(messages: int, nodes: int, keep: Path | None) -> int:
    result = run(messages, nodes, keep=keep)
    print(f"ratio NCC / mosquitto_sub: {result['ratio']}; stored exactly once: "
          f"{result['stored_exactly_once']}", flush=True)
    print(json.dumps(result, separators=(",", ":")), flush=True)
    return 0 if result["stored_exactly_once"] else 1
