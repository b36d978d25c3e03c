"""The demo's month of history (ncc.history): valid events by the contract, stored through
the store's own insert API once, the same for the same seed, and a Dampak page worth
showing for every puskesmas."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import islice
from pathlib import Path

import pytest

from contract.fleet import load_fleet
from contract.schemas import Schemas
from ncc import history, impact, report
from ncc.impact import Period
from ncc.store import SqliteStore

TODAY = date(2026, 12, 1)
FLEET = load_fleet(None)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("history") / "ncc.db"
    line = history.seed_store(path, FLEET, seed=3, today=TODAY)
    assert line.startswith("history: ") and "2026-11-01 to 2026-11-30" in line
    return path


def test_every_event_is_valid_by_the_contract() -> None:
    schemas = Schemas.load()
    for e in islice(history.events(FLEET, TODAY, seed=3), 3000):
        body = {"id": e.id, "site": e.site, "node": e.node, "epoch": e.epoch, "seq": e.seq,
                "ts": e.ts, "type": e.type, "data": e.data}
        assert schemas.errors("event", body) == [], body


def test_seeding_twice_stores_nothing_more(seeded: Path) -> None:
    store = SqliteStore(seeded)
    before = len(store.period_events("2026-11-01", "2026-11-30"))
    store.close()
    assert history.seed_store(seeded, FLEET, seed=3, today=TODAY).startswith(
        "history: already in")
    store = SqliteStore(seeded)
    assert len(store.period_events("2026-11-01", "2026-11-30")) == before > 10_000
    store.close()


def test_each_node_is_numbered_without_gaps(seeded: Path) -> None:
    store = SqliteStore(seeded)
    try:
        for site in FLEET.sites[:3]:
            for node in site.nodes:
                seqs = store.seqs(site.id, node.id, history.EPOCH)
                assert seqs == list(range(1, len(seqs) + 1))
                assert store.contiguous(site.id, node.id, history.EPOCH) == len(seqs)
    finally:
        store.close()


def test_the_month_has_figures_for_every_puskesmas(seeded: Path) -> None:
    store = SqliteStore(seeded)
    try:
        r = report.load(store, report.sites_of(FLEET), impact.month("2026-11"))
    finally:
        store.close()
    assert len(r.sites) == 16
    for s in r.sites:
        f = s.figures
        assert f.tickets > 500 and f.braille >= 25, s.site.id
        assert f.independence is not None and 0.3 < f.independence < 1.0
        assert f.availability is not None and 0.9 < f.availability <= 1.0
        assert f.assisted.wait.median_s is not None and f.others.wait.median_s is not None
        assert f.assisted.wait.median_s < f.others.wait.median_s  # assisted called first
    assert any(s.figures.outages for s in r.sites)
    janti = next(s for s in r.sites if s.site.id == "janti")
    assert janti.site.pharmacy and janti.figures.label_share is not None


def test_the_same_seed_gives_the_same_history() -> None:
    a = list(islice(history.events(FLEET, TODAY, seed=3), 500))
    b = list(islice(history.events(FLEET, TODAY, seed=3), 500))
    c = list(islice(history.events(FLEET, TODAY, seed=4), 500))
    assert a == b and a != c


def test_no_history_on_sundays() -> None:
    days = {e.ts[:10] for e in islice(history.events(FLEET, TODAY, seed=3), 20000)}
    sundays = {(TODAY - timedelta(days=n)).isoformat() for n in range(1, 31)
               if (TODAY - timedelta(days=n)).weekday() == 6}
    assert days and not days & sundays
    assert Period("month", date(2026, 11, 1), date(2026, 11, 30)).label == "2026-11"
