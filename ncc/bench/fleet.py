"""``brexit ncc bench fleet``: the NCC serving while the fleet simulator runs.

A fresh benchmark Mosquitto, the NCC as its own process (``brexit ncc serve`` with a
generated inventory of the simulated sites and a webhook that counts notifications), and
the simulator as another process. While it runs, the pages and the API are fetched one at
a time (latency p50/p95 per kind) and the NCC's CPU and RSS are sampled. With
``--kill-at S`` the NCC is SIGKILLed S seconds in and started again: the time until every
node's state is current again is measured. At the end the NCC's database is checked
against the simulator's record: every event stored exactly once, none lost; alarm latency
from the faults the simulator injected; notifications per unreachable site.
"""

from __future__ import annotations

import http.client
import json
import random
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ncc.bench.broker import HOST, BenchBroker, BenchError
from ncc.bench.machine import busiest, machine, percentile, sample
from ncc.bench.ncc_process import NccProcess, add_token, brexit, fleet_toml, write_config
from ncc.messages import parse_ts
from ncc.simulate.fleet import FleetSpec

SILENT_AFTER_INTERVALS = 2.5  # the NCC's default (alarms.silent_after_intervals)


@dataclass(frozen=True)
class FleetBench:
    sites: int
    nodes_per_site: int
    duration_s: float
    seed: int = 1
    hold_down_s: float = 30.0
    health_interval_s: float = 30.0
    fault_rate: float = 0.2
    fault_s: float = 150.0
    will_after_s: float = 45.0
    kill_at_s: float | None = None
    down_s: float = 5.0
    broker: str | None = None  # HOST:PORT of a broker to use instead of a fresh Mosquitto
    broker_sim: str | None = None  # the simulator's HOST:PORT (default: broker)
    connections: int = 0
    ncc_login: tuple[str, str] | None = None  # (username, password) on --broker
    sim_login: tuple[str, str] | None = None


class Webhook:
    """Counts the NCC's notifications (alarm.opened) by kind, and by site for site alarms."""

    def __init__(self) -> None:
        self.opened: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    doc = json.loads(body)
                    if doc.get("event") == "alarm.opened":
                        owner.opened.append({**doc["alarm"], "received": time.time()})
                except (ValueError, KeyError, AttributeError):
                    pass
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server.server_address[1]}/hook"

    def start(self) -> Webhook:
        self.thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Prober:
    """Fetches one page or API answer at a time, round robin, and keeps the latencies."""

    KINDS = ("overview", "site_page", "node_page", "api_nodes", "api_alarms")

    def __init__(self, url: str, token: str, sites: list[str], nodes_per_site: int,
                 seed: int) -> None:
        self.host, self.port = url.removeprefix("http://").rsplit(":", 1)
        self.token, self.sites, self.nodes_per_site = token, sites, nodes_per_site
        self.rng = random.Random(seed)
        self.latencies: dict[str, list[float]] = {k: [] for k in self.KINDS}
        self.errors: Counter[str] = Counter()

    def path(self, kind: str) -> str:
        site = self.rng.choice(self.sites)
        node = "kios-1" if self.rng.random() < 0.4 or self.nodes_per_site == 1 else \
            f"loket-{self.rng.randint(1, max(1, self.nodes_per_site - 1))}"
        offset = self.rng.randrange(0, len(self.sites) * self.nodes_per_site, 100)
        return {"overview": "/", "site_page": f"/sites/{site}",
                "node_page": f"/nodes/{site}/{node}",
                "api_nodes": f"/api/v1/nodes?limit=100&offset={offset}",
                "api_alarms": "/api/v1/alarms"}[kind]

    def once(self, kind: str, timeout: float = 30.0) -> None:
        conn = http.client.HTTPConnection(self.host, int(self.port), timeout=timeout)
        started = time.monotonic()
        try:
            conn.request("GET", self.path(kind),
                         headers={"Authorization": f"Bearer {self.token}"})
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                self.errors[f"{kind}:{response.status}"] += 1
                return
            self.latencies[kind].append(time.monotonic() - started)
        except OSError as e:
            self.errors[f"{kind}:{type(e).__name__}"] += 1
        finally:
            conn.close()

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for kind, values in self.latencies.items():
            p50, p95 = percentile(values, 50), percentile(values, 95)
            out[kind] = {"n": len(values), "p50_ms": _ms(p50), "p95_ms": _ms(p95)}
        out["errors"] = dict(self.errors)
        return out


def split_lags(timings: list[tuple[float, float]], window: tuple[float, float] | None
               ) -> tuple[list[float], list[float]]:
    """Ingest lags (received - node time) outside and inside the restart window.

    An event is the restart's when it reached the NCC after the kill although the node
    made it before the NCC was current again: it waited for the NCC, not for the ingest.

    >>> split_lags([(10.0, 10.5), (20.0, 31.0), (25.0, 30.5), (40.0, 40.25)], (21.0, 30.0))
    ([0.5, 0.25], [11.0, 5.5])
    """
    steady: list[float] = []
    restart: list[float] = []
    for made, received in timings:
        inside = window is not None and received >= window[0] and made <= window[1]
        (restart if inside else steady).append(received - made)
    return steady, restart


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def _ready(url: str) -> bool:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    try:
        conn = http.client.HTTPConnection(host, int(port), timeout=2)
        conn.request("GET", "/login")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def _db(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    con.execute("PRAGMA busy_timeout=30000")
    return con


def _count(db: Path, sql: str, args: tuple[Any, ...] = ()) -> int | None:
    try:
        con = _db(db)
        try:
            return int(con.execute(sql, args).fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return None


def _known(db: Path) -> int | None:
    """Nodes the NCC's store holds (read after the kill: what it had committed)."""
    return _count(db, "SELECT count(*) FROM node")


def _current(db: Path, since: float, killed_at: float) -> int | None:
    """Of the nodes known before the kill, how many were heard from since ``since``."""
    return _count(db, "SELECT count(*) FROM node WHERE last_seen >= ? AND first_seen < ?",
                  (since, killed_at))


class Run:
    def __init__(self, b: FleetBench, root: Path) -> None:
        self.b, self.root = b, root
        self.spec = FleetSpec(sites=b.sites, nodes_per_site=b.nodes_per_site,
                              duration_s=b.duration_s, seed=b.seed)
        self.site_ids = [self.spec.site_id(i + 1) for i in range(b.sites)]
        self.total_nodes = b.sites * b.nodes_per_site
        self.samples: list[tuple[float, float, int]] = []  # (wall, cpu_s, rss)
        self.restart: dict[str, Any] | None = None
        self.window: tuple[float, float] | None = None  # (killed, state current again)
        self.t0 = 0.0
        self.others: list[str] = []

    def go(self) -> dict[str, Any]:
        b, root = self.b, self.root
        info = machine()
        fleet_path = root / "fleet.toml"
        fleet_path.write_text(fleet_toml(self.site_ids, b.nodes_per_site), encoding="utf-8")
        broker = None
        if b.broker is None:
            broker = BenchBroker(root).start()
            address = broker.address
        else:
            address = b.broker
        webhook = Webhook().start()
        host, port = address.rsplit(":", 1)
        files = write_config(root, broker_port=int(port), fleet=fleet_path, webhook=webhook.url,
                             hold_down_s=b.hold_down_s, health_interval_s=b.health_interval_s,
                             login=b.ncc_login)
        if host != HOST:
            raise BenchError("--broker: only loopback brokers are benchmarked")
        token = add_token(files)
        ncc = NccProcess(files).start()
        sim: subprocess.Popen[bytes] | None = None
        try:
            ncc.wait_ready(lambda: _ready(ncc.url))
            prober = Prober(ncc.url, token, self.site_ids, b.nodes_per_site, b.seed)
            record = root / "record.json"
            sim_log = (root / "simulate.log").open("wb")
            sim = subprocess.Popen(brexit(
                "ncc", "simulate", "--broker", b.broker_sim or address, "--sites",
                str(b.sites), "--nodes-per-site", str(b.nodes_per_site), "--duration",
                str(b.duration_s), "--seed", str(b.seed), "--fault-rate", str(b.fault_rate),
                "--fault-s", str(b.fault_s), "--will-after", str(b.will_after_s),
                "--health-interval", str(b.health_interval_s),
                "--connections", str(b.connections), "--drain", "60",
                "--record", str(record), *self._sim_login()),
                stdout=sim_log, stderr=subprocess.STDOUT)
            self.t0 = time.time()
            self._watch(ncc, sim, prober, self.t0)
            sim.wait(timeout=600)
            sim_log.close()
            time.sleep(2)  # the last batch committed
            samples = self.samples
            ncc.stop()
        finally:
            if sim is not None and sim.poll() is None:
                sim.kill()
            ncc.stop()
            webhook.close()
            if broker is not None:
                broker.stop()
        if sim.returncode != 0:
            raise BenchError(f"the simulator failed (exit {sim.returncode}); see "
                             f"{root / 'simulate.log'}")
        rec = json.loads(record.read_text(encoding="utf-8"))
        return {"bench": "fleet", "sites": b.sites, "nodes": self.total_nodes,
                "duration_s": b.duration_s, "broker": "nats" if b.broker else "mosquitto",
                "latency": prober.report(), **self._cpu(samples),
                **self._events(files.db, rec), **self._alarms(files.db, rec, webhook),
                "restart": self.restart, "simulator": rec["summary"], "machine": info,
                "busiest_other_processes": self.others}

    def _sim_login(self) -> list[str]:
        if self.b.sim_login is None:
            return []
        secret = self.root / "sim.password"
        secret.write_text(self.b.sim_login[1] + "\n", encoding="utf-8")
        secret.chmod(0o600)
        return ["--username", self.b.sim_login[0], "--password-file", str(secret)]

    def _watch(self, ncc: NccProcess, sim: subprocess.Popen[bytes], prober: Prober,
               t0: float) -> None:
        b = self.b
        kinds = Prober.KINDS
        i = 0
        next_sample = 0.0
        killed = False
        while sim.poll() is None:
            now = time.time()
            if now >= next_sample:
                next_sample = now + 2.0
                s = sample(ncc.pid)
                if s is not None:
                    self.samples.append((now, s.cpu_s, s.rss_bytes))
                if not self.others and now - t0 > 30:
                    self.others = busiest(exclude={ncc.pid, sim.pid})
            if b.kill_at_s is not None and not killed and now - t0 >= b.kill_at_s:
                killed = True
                self._restart(ncc)
                continue
            prober.once(kinds[i % len(kinds)])
            i += 1
            time.sleep(0.25)

    def _restart(self, ncc: NccProcess) -> None:
        """SIGKILL, ``down_s`` away, start again: how long until every node the NCC knew
        is current again (heard from since the start: the retained births and health).
        Nodes it never saw (a site unreachable since the run began) cannot be current
        until they come back; they are counted apart."""
        ncc.kill()
        killed_at = time.time()
        self.samples.append((killed_at, -1.0, 0))  # a break in the CPU series
        known = _known(ncc.files.db) or 0
        time.sleep(self.b.down_s)
        started = time.time()
        ncc.start()
        current = 0
        while (current := _current(ncc.files.db, started, killed_at) or 0) < known:
            if time.time() - started > 300:
                break
            time.sleep(0.2)
        at = time.time()
        ncc.wait_ready(lambda: _ready(ncc.url))  # the pages are probed again from here
        self.window = (killed_at, at)
        self.restart = {"killed_at_s": round(killed_at - self.t0, 1), "down_s": self.b.down_s,
                        "nodes_known": known, "nodes_current": current,
                        "nodes_never_seen": self.total_nodes - known,
                        "state_current_after_s": round(at - started, 2)
                        if current >= known else None}

    @staticmethod
    def _cpu(samples: list[tuple[float, float, int]]) -> dict[str, Any]:
        busy = wall = 0.0
        prev: tuple[float, float, int] | None = None
        for s in samples:
            if prev is not None and prev[1] >= 0 and s[1] >= 0 and s[1] >= prev[1]:
                busy += s[1] - prev[1]
                wall += s[0] - prev[0]
            prev = s if s[1] >= 0 else None
        rss = max((s[2] for s in samples), default=0)
        return {"ncc_cpu_pct_of_one_core": round(100 * busy / wall, 1) if wall else None,
                "ncc_cpu_s": round(busy, 1), "ncc_cpu_wall_s": round(wall, 1),
                "ncc_rss_max_mib": round(rss / 2**20, 1)}

    def _events(self, db: Path, rec: dict[str, Any]) -> dict[str, Any]:
        con = _db(db)
        try:
            per = {(s, n, e): (c, d, m) for s, n, e, c, d, m in con.execute(
                "SELECT site, node, epoch, count(*), count(DISTINCT seq), max(seq) FROM event"
                " GROUP BY site, node, epoch")}
            timings = [(t, received) for ts, received in
                       con.execute("SELECT ts, received FROM event")
                       if (t := parse_ts(ts)) is not None]
        finally:
            con.close()
        lags, restart_lags = split_lags(timings, self.window)
        lost = twice = pending = 0
        for site, node, epoch, seq, acked in rec["nodes"]:
            count, distinct, top = per.get((site, node, epoch), (0, 0, 0))
            lost += max(0, acked - distinct)  # acked means stored: an acked seq not stored
            pending += seq - distinct  # not stored yet: still in the node's outbox
            twice += count - distinct
            if top and top > seq:
                twice += top - seq
        p99 = percentile(lags, 99)
        return {"events_sent": sum(n[3] for n in rec["nodes"]),
                "events_stored": sum(c for c, _, _ in per.values()),
                "events_lost": lost, "events_stored_twice": twice,
                "events_not_stored_at_end": pending,
                "ingest_lag_p50_s": None if not lags else round(percentile(lags, 50) or 0, 3),
                "ingest_lag_p99_s": None if p99 is None else round(p99, 3),
                "ingest_lag_max_s": round(max(lags), 3) if lags else None,
                "restart_window_events": len(restart_lags),
                "restart_window_lag_p99_s": _round(percentile(restart_lags, 99)),
                "restart_window_lag_max_s": round(max(restart_lags), 3) if restart_lags
                else None}

    def _restarting(self, evidence: float, due: float) -> bool:
        """Whether a fault's alarm waited for the NCC's restart: the evidence (the Will, the
        last health) was sent while the NCC was down or catching up (or in its last second
        before the kill, not committed yet), or the alarm fell due then. The NCC dates
        what it receives, so such an alarm opens one hold-down after the NCC is back."""
        if self.window is None:
            return False
        killed, current = self.window
        return killed - 1.0 <= evidence <= current or killed <= due <= current

    def _alarms(self, db: Path, rec: dict[str, Any], webhook: Webhook) -> dict[str, Any]:
        b = self.b
        silent_after = SILENT_AFTER_INTERVALS * b.health_interval_s
        con = _db(db)
        try:
            opened: dict[tuple[str, str, str], float] = {}
            for site, node, kind, since in con.execute(
                    "SELECT site, ifnull(node, ''), kind, since FROM alarm ORDER BY since"):
                opened.setdefault((site, node, kind), since)
        finally:
            con.close()
        latencies: list[float] = []
        restart_latencies: list[float] = []  # alarms that fell due while the NCC restarted
        missed = 0
        for f in rec["faults"]:
            kind, site, node = f["kind"], f["site"], f["node"] or ""
            if kind == "node_gone":
                detect, alarm, evidence = f["will_at"], "offline", f["will_at"]
            elif kind == "node_hung":
                detect, alarm = f["last_health"] + silent_after, "silent"
                evidence = f["last_health"]
            else:
                continue
            back = f["repaired_at"] or f["until"]
            if detect is None or back < detect + b.hold_down_s + 5:
                continue  # it came back before an alarm was due
            at = next((t for (s, n, k), t in opened.items() if (s, n, k) == (site, node, alarm)
                       and t >= f["at"]), None)
            if at is None:
                missed += 1
                continue
            due = detect + b.hold_down_s
            (restart_latencies if self._restarting(evidence, due) else latencies).append(
                at - due)
        notes = Counter(a["kind"] for a in webhook.opened)
        outages = Counter(f["site"] for f in rec["faults"] if f["kind"] == "site_unreachable")
        windows = [(f["site"], f["at"], f["repaired_at"] or f["until"]) for f in rec["faults"]
                   if f["kind"] == "site_unreachable"]
        per_site = Counter(a["site"] for a in webhook.opened if a["kind"] == "site_unreachable")
        node_notes = sum(1 for a in webhook.opened if a.get("node")
                         and a["kind"] in ("offline", "silent")
                         and any(a["site"] == s and t0 <= a["received"] <= t1 + 5
                                 for s, t0, t1 in windows))
        p99 = percentile(latencies, 99)
        return {"alarm_latency_n": len(latencies), "alarm_latency_missed": missed,
                "alarm_latency_p50_s": None if not latencies else
                round(percentile(latencies, 50) or 0, 2),
                "alarm_latency_p99_s": None if p99 is None else round(p99, 2),
                "alarm_latency_max_s": round(max(latencies), 2) if latencies else None,
                "restart_window_alarms": len(restart_latencies),
                "restart_window_alarm_latency_max_s": round(max(restart_latencies), 2)
                if restart_latencies else None,
                "site_outages": sum(outages.values()),
                "site_unreachable_notifications": sum(per_site.values()),
                "sites_notified_more_than_their_outages": sum(
                    1 for site, c in per_site.items() if c > outages[site]),
                "node_notifications_during_outages": node_notes,
                "notifications": dict(sorted(notes.items()))}


def run(b: FleetBench, *, keep: Path | None = None) -> dict[str, Any]:
    root = keep or Path(tempfile.mkdtemp(prefix="brexit-bench-fleet-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        return Run(b, root).go()
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)


def main(b: FleetBench, keep: Path | None) -> int:
    result = run(b, keep=keep)
    lat = result["latency"]
    print("latency p50/p95 ms: " + ", ".join(
        f"{k} {v['p50_ms']}/{v['p95_ms']}" for k, v in lat.items() if k != "errors"),
        flush=True)
    print(f"ingest lag p99 {result['ingest_lag_p99_s']} s; NCC CPU "
          f"{result['ncc_cpu_pct_of_one_core']} % of a core, RSS {result['ncc_rss_max_mib']} "
          f"MiB; alarm latency p99 {result['alarm_latency_p99_s']} s; events lost "
          f"{result['events_lost']}, stored twice {result['events_stored_twice']}", flush=True)
    if result["restart"] is not None:
        print(f"restart: state current after {result['restart']['state_current_after_s']} s; "
              f"{result['restart_window_events']} events waited for the restart (lag p99 "
              f"{result['restart_window_lag_p99_s']} s, not in the ingest lag above); "
              f"{result['restart_window_alarms']} alarms fell due meanwhile (latency max "
              f"{result['restart_window_alarm_latency_max_s']} s, not in the alarm latency)",
              flush=True)
    print(f"events not stored when the run ended (still in the nodes' outboxes): "
          f"{result['events_not_stored_at_end']}", flush=True)
    print(json.dumps(result, separators=(",", ":")), flush=True)
    ok = result["events_lost"] == 0 and result["events_stored_twice"] == 0
    return 0 if ok else 1
