"""A month of simulated history for ``brexit ncc demo``, so the "Dampak" page has something
to show: for every puskesmas of the fleet and every opening day of the last 30 days, the
events its nodes would have sent (tickets with calls, recalls, transfers and no-shows,
help requests, Braille labels at pharmacy sites, printer faults and recoveries).

The events go into the store through its own insert API (``Store.apply``), as the ingest
stores them; they carry their own epoch (``riwayat``) so they never collide with the live
simulated nodes. The same seed and the same day give the same history.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from contract.fleet import Fleet, Site
from ncc.impact import WIB, Hours
from ncc.messages import EventMsg
from ncc.store import SqliteStore

EPOCH = "riwayat"
DAYS = 30
META_KEY = "demo_history"
BATCH = 2000
OPENING = Hours()


@dataclass(frozen=True)
class Profile:
    """How one simulated puskesmas behaves."""

    patients: int  # tickets on an ordinary day
    braille: int  # Braille-kiosk patients on an ordinary day
    independence: float  # chance a Braille-kiosk patient needs no help
    faults: float  # chance of a printer fault on a day


@dataclass(frozen=True)
class Raw:
    ts: datetime
    node: str
    type: str
    data: dict[str, Any]


def profile(rng: random.Random) -> Profile:
    return Profile(rng.randint(40, 90), rng.randint(3, 9), rng.uniform(0.55, 0.9),
                   rng.uniform(0.03, 0.15))


def _at(day: date, minutes: float) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=WIB) + timedelta(minutes=minutes)


def _roles(site: Site, role: str) -> list[str]:
    return [n.id for n in site.nodes if role in n.roles]


def site_day(site: Site, day: date, p: Profile, rng: random.Random) -> list[Raw]:
    """One opening day of one puskesmas, in time order."""
    kiosk = (_roles(site, "kiosk") or [site.nodes[0].id])[0]
    pharmacy = _roles(site, "pharmacy")
    services = [s.code for s in site.services] or ["A"]
    out = [Raw(_at(day, 0), kiosk, "queue.reset",
               {"series": day.toordinal() - 739000, "day": day.isoformat(),
                "reason": "new_day"})]
    serial: dict[str, int] = {}
    n_braille = max(0, p.braille + rng.randint(-2, 2))
    kinds = [True] * n_braille + [False] * max(0, p.patients + rng.randint(-10, 10))
    rng.shuffle(kinds)
    for assisted in kinds:
        out += _ticket(kiosk, day, rng.choice(services), assisted, serial, p, rng, pharmacy)
    if rng.random() < p.faults:
        start = rng.uniform(8 * 60, 12 * 60)
        out.append(Raw(_at(day, start), kiosk, "device.fault",
                       {"device": "printer", "state": "paper_out"}))
        out.append(Raw(_at(day, start + rng.uniform(15, 120)), kiosk, "device.recovered",
                       {"device": "printer", "state": "ok"}))
    out.sort(key=lambda r: r.ts)
    return out


def _ticket(kiosk: str, day: date, service: str, assisted: bool, serial: dict[str, int],
            p: Profile, rng: random.Random, pharmacy: list[str]) -> list[Raw]:
    serial[service] = serial.get(service, 0) + 1
    number = f"{service}-{serial[service]:03d}"
    issued = rng.uniform(7 * 60, 12 * 60 + 30)
    counter = rng.randint(1, 2)
    out = [Raw(_at(day, issued), kiosk, "ticket.issued",
               {"number": number, "service": service, "assisted": assisted, "ahead": 0,
                "day": day.isoformat(), "source": kiosk})]
    if assisted and rng.random() > p.independence:
        out.append(Raw(_at(day, issued + rng.uniform(0.5, 3)), kiosk, "help.requested",
                       {"source": kiosk}))
    called = issued + rng.uniform(3, 25 if assisted else 45)
    out.append(Raw(_at(day, called), kiosk, "ticket.called",
                   {"number": number, "service": service, "counter": counter,
                    "assisted": assisted}))
    roll = rng.random()
    if roll < 0.12:
        out.append(Raw(_at(day, called + 1), kiosk, "ticket.recalled",
                       {"number": number, "counter": counter, "calls": 2}))
    if roll < 0.05:
        out.append(Raw(_at(day, called + 3), kiosk, "ticket.skipped",
                       {"number": number, "counter": counter}))
        return out
    if 0.05 <= roll < 0.08:
        to = "C" if service != "C" else "A"
        moved = called + rng.uniform(2, 6)
        out.append(Raw(_at(day, moved), kiosk, "ticket.transferred",
                       {"number": number, "from": service, "to": to, "counter": counter}))
        called = moved + rng.uniform(5, 20)
        out.append(Raw(_at(day, called), kiosk, "ticket.called",
                       {"number": number, "service": to, "counter": counter}))
    done = called + rng.uniform(3, 15)
    out.append(Raw(_at(day, done), kiosk, "ticket.completed",
                   {"number": number, "counter": counter}))
    if assisted and pharmacy and rng.random() < 0.7:
        out.append(Raw(_at(day, done + rng.uniform(5, 30)), pharmacy[0], "label.printed",
                       {"labels": 1, "classes": _classes(rng), "braille_lines": rng.randint(2, 4),
                        "outputs": ["embosser", "printer", "speech"], "source": "form"}))
    return out


def _classes(rng: random.Random) -> dict[str, int]:
    """A label's drug classes, as the pharmacy node counts them."""
    oral = int(rng.random() < 0.85)
    return {"oral": oral, "external": 1 - oral, "antibiotic": int(rng.random() < 0.3),
            "suspension": int(rng.random() < 0.1), "sedating": int(rng.random() < 0.2)}


def events(fleet: Fleet, today: date, *, days: int = DAYS, seed: int = 1,
           hours: Hours = OPENING) -> Iterator[EventMsg]:
    """The history of the ``days`` days before ``today``, site by site, each node's events
    numbered from 1 in time order."""
    for site in fleet.sites:
        rng = random.Random(f"{seed}:{site.id}")
        p = profile(rng)
        seqs: dict[str, int] = {}
        for back in range(days, 0, -1):
            day = today - timedelta(days=back)
            if day.weekday() not in hours.weekdays:
                continue
            for raw in site_day(site, day, p, rng):
                seq = seqs[raw.node] = seqs.get(raw.node, 0) + 1
                yield EventMsg(site.id, raw.node, EPOCH, seq,
                               str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                               raw.ts.isoformat(timespec="seconds"), raw.type, raw.data,
                               raw.ts.timestamp() + 1.0)


def seed_store(path: Path, fleet: Fleet, *, seed: int = 1, today: date | None = None) -> str:
    """Put the history into the store at ``path`` once; a line saying what was done."""
    today = today or datetime.now(WIB).date()
    store = SqliteStore(path)
    try:
        if store.meta_get(META_KEY):
            return f"history: already in {path} ({store.meta_get(META_KEY)})"
        started, stored, batch = time.monotonic(), 0, []
        for msg in events(fleet, today, seed=seed):
            batch.append(msg)
            if len(batch) >= BATCH:
                stored, batch = stored + store.apply(batch).stored, []
        stored += store.apply(batch).stored if batch else 0
        first = today - timedelta(days=DAYS)
        note = f"{stored} events, {first.isoformat()} to {today - timedelta(days=1)}"
        store.meta_set(META_KEY, note)
        return f"history: {note} ({time.monotonic() - started:.1f} s)"
    finally:
        store.close()
