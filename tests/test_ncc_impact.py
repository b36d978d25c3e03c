"""Impact figures (ncc.impact) on a generated month with known answers, stored through the
NCC's store as the ingest stores them (late outbox events included)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import impact_month
import pytest
from impact_month import (
    ARJUNO,
    CITY_EXPECTED,
    JANTI,
    JANTI_EXPECTED,
    MONTH,
    SITES,
    arjuno,
    december,
    fill,
    janti,
)

from ncc import impact
from ncc.impact import WIB, Event, Figures, ImpactError, Outcome, Period
from ncc.store import SqliteStore


@pytest.fixture()
def store(tmp_path: Path) -> SqliteStore:
    s = SqliteStore(tmp_path / "ncc.db")
    fill(s, janti(), arjuno())
    return s


def month_report(store: SqliteStore, **kw: object) -> impact.Report:
    period = impact.month(MONTH)
    rows = store.period_events(period.first.isoformat(), period.last.isoformat())
    return impact.report(SITES, [Event.from_row(r) for r in rows], period, **kw)  # type: ignore[arg-type]


def check_group(g: impact.Group, want: dict[str, float]) -> None:
    assert (g.tickets, g.wait.n, g.wait.median_s, g.wait.p90_s) == (
        want["tickets"], want["wait_n"], want["wait_median_s"], want["wait_p90_s"])
    assert (g.service.n, g.service.median_s, g.service.p90_s) == (
        want["service_n"], want["service_median_s"], want["service_p90_s"])
    assert (g.no_shows, g.recalls) == (want["no_shows"], want["recalls"])


def test_the_month_of_janti_gives_the_known_answers(store: SqliteStore) -> None:
    r = month_report(store)
    f = next(s for s in r.sites if s.site.id == "janti").figures
    want = JANTI_EXPECTED
    assert (f.tickets, f.braille, f.independent, f.labelled) == (
        want["tickets"], want["braille"], want["independent"], want["labelled"])
    assert (f.helps, f.answered, f.answer.median_s) == (
        want["helps"], want["answered"], want["answer_median_s"])
    assert (f.outages, f.touched, f.down_s, f.open_s) == (
        want["outages"], want["touched"], want["down_s"], want["open_s"])
    check_group(f.assisted, want["assisted"])
    check_group(f.others, want["others"])
    assert f.independence == pytest.approx(10 / 14)
    assert f.availability == pytest.approx(1 - 3600 / want["open_s"])


def test_the_city_pools_every_site(store: SqliteStore) -> None:
    c = month_report(store).city
    assert (c.tickets, c.braille, c.independent, c.open_s) == (
        CITY_EXPECTED["tickets"], CITY_EXPECTED["braille"], CITY_EXPECTED["independent"],
        CITY_EXPECTED["open_s"])
    # the labels' share counts only patients of sites with a pharmacy node
    assert (c.labelled, c.braille_pharmacy) == (3, 14)


def test_the_daily_trend_splits_the_month(store: SqliteStore) -> None:
    r = month_report(store)
    days = dict((p.first, f) for p, f in next(s for s in r.sites if s.site.id == "janti").trend)
    assert len(days) == 30
    d4 = days[date(2026, 11, 4)]
    # the ticket left waiting at closing ends with the midnight reset, unfinished
    assert (d4.tickets, d4.braille, d4.independent, d4.touched, d4.down_s) == (4, 4, 3, 1, 3600)
    d5 = days[date(2026, 11, 5)]
    assert (d5.tickets, d5.independent) == (1, 1)  # A-001 again is a new patient
    assert days[date(2026, 11, 10)].tickets == 0
    weeks = month_report(store, trend="week")
    assert [p.label for p, _ in weeks.city_trend] == [
        "2026-W44", "2026-W45", "2026-W46", "2026-W47", "2026-W48", "2026-W49"]


def test_a_past_month_does_not_change_when_later_events_arrive(store: SqliteStore) -> None:
    before = impact.as_json(month_report(store))
    december(store)
    assert impact.as_json(month_report(store)) == before


def test_a_fault_open_before_the_period_counts_from_its_start(store: SqliteStore) -> None:
    december(store)  # the printer fails on 1 December at 08:30 and never recovers
    period = Period("day", date(2026, 12, 1), date(2026, 12, 1))
    rows = store.period_events("2026-12-01", "2026-12-01")
    f = impact.report([JANTI], [Event.from_row(r) for r in rows], period).city
    assert (f.open_s, f.down_s) == (7 * 3600, 5.5 * 3600)
    later = Period("day", date(2026, 12, 2), date(2026, 12, 2))
    rows = store.period_events("2026-12-02", "2026-12-02")
    assert impact.report([JANTI], [Event.from_row(r) for r in rows], later).city.open_s == 0


def test_a_day_with_a_fault_open_from_before_is_down_all_day(store: SqliteStore) -> None:
    december(store)
    s = impact_month.Script("janti", seqs={"kios-1": 2000})
    s.add(date(2026, 12, 2), "00:00", "queue.reset", series=6, day="2026-12-02")
    impact_month.fill(store, s)
    rows = store.period_events("2026-12-02", "2026-12-02")
    period = Period("day", date(2026, 12, 2), date(2026, 12, 2))
    f = impact.report([JANTI], [Event.from_row(r) for r in rows], period).city
    assert (f.open_s, f.down_s, f.availability) == (7 * 3600, 7 * 3600, 0.0)


def test_the_current_month_counts_opening_hours_only_until_now(store: SqliteStore) -> None:
    until = datetime(2026, 11, 2, 10, 0, tzinfo=WIB)
    r = month_report(store, until=until)
    assert next(s for s in r.sites if s.site is ARJUNO).figures.open_s == 3 * 3600


def visit_outcomes(store: SqliteStore) -> list[tuple[str, str, Outcome]]:
    rows = store.period_events("2026-11-01", "2026-11-30")
    log = impact.site_log(JANTI, [Event.from_row(r) for r in rows])
    return [(v.issued.date().isoformat(), v.number, v.outcome) for v in log.visits
            if v.issued.day in (4, 5)]


def test_the_midnight_reset_ends_open_tickets(store: SqliteStore) -> None:
    assert visit_outcomes(store) == [
        ("2026-11-04", "A-001", Outcome.COMPLETED), ("2026-11-04", "A-002", Outcome.COMPLETED),
        ("2026-11-04", "A-003", Outcome.COMPLETED), ("2026-11-04", "A-004", Outcome.UNFINISHED),
        ("2026-11-05", "A-001", Outcome.COMPLETED)]


def test_transfers_add_up_waits_and_services(store: SqliteStore) -> None:
    rows = store.period_events("2026-11-03", "2026-11-03")
    log = impact.site_log(JANTI, [Event.from_row(r) for r in rows])
    a1 = next(v for v in log.visits if v.number == "A-001")
    assert (a1.wait_s, a1.service_s, a1.transfers, a1.independent) == (1500, 900, 1, True)
    a2 = next(v for v in log.visits if v.number == "A-002")
    assert (a2.outcome, a2.recalls, a2.service_s, a2.independent) == (
        Outcome.SKIPPED, 1, None, False)
    a3, a4 = (next(v for v in log.visits if v.number == n) for n in ("A-003", "A-004"))
    assert (a3.staff_ticket, a3.independent, a4.braille, a4.assisted) == (
        True, False, False, True)


@pytest.mark.parametrize(("n", "shown"), [(0, 0), (1, "< 5"), (4, "< 5"), (5, 5), (120, 120)])
def test_counts_under_five_are_not_shown(n: int, shown: object) -> None:
    assert impact.shown_count(n) == shown


@pytest.mark.parametrize(("part", "whole", "shown"), [
    (10, 14, 71.4), (0, 20, 0.0), (3, 14, None), (3, 4, None), (0, 4, None), (5, 5, 100.0)])
def test_shares_that_stand_for_fewer_than_five_are_not_shown(
        part: int, whole: int, shown: float | None) -> None:
    assert impact.shown_share(part, whole) == shown


@pytest.mark.parametrize(("values", "median", "p90"), [
    ([60.0], 60.0, 60.0), ([60.0, 120.0], 90.0, 120.0),
    ([float(x) for x in range(1, 11)], 5.5, 9.0), ([float(x) for x in range(1, 21)], 10.5, 18.0)])
def test_median_and_nearest_rank_p90(values: list[float], median: float, p90: float) -> None:
    t = impact.Times.of(values)
    assert (t.median_s, t.p90_s) == (median, p90)


def test_shown_figures_hide_small_groups(store: SqliteStore) -> None:
    f: Figures = next(s for s in month_report(store).sites if s.site.id == "janti").figures
    shown = impact.shown(f)
    assert shown["independence"] == 71.4 and shown["braille"] == 14
    assert shown["label_share"] is None  # 3 labels: fewer than 5
    assert shown["helps"] == "< 5" and shown["help_median"] is None
    assert shown["touched"] == "< 5" and shown["no_shows_assisted"] == "< 5"
    assert shown["wait_median_assisted"] == 10.0 and shown["wait_p90_assisted"] == 25.0
    assert shown["availability"] == 96.4  # 1 hour down of 28


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "nov", "", "2026-11-01"])
def test_a_bad_month_is_one_clear_error(text: str) -> None:
    with pytest.raises(ImpactError, match=r"month: .* is not YYYY-MM"):
        impact.month(text)


def test_the_docstring_examples() -> None:
    import doctest

    assert doctest.testmod(impact).failed == 0


def ev(node: str, hhmm: str, type_: str, **data: object) -> Event:
    h, m = (int(x) for x in hhmm.split(":"))
    return Event("dua", node, datetime(2026, 11, 2, h, m, tzinfo=WIB), type_, data)


@pytest.mark.parametrize(("faults", "site_down_h", "nodes"), [
    ([], 0.0, {"kios-1": 1.0, "kios-2": 1.0}),
    ([("kios-2", "09:00", "10:00")], 1.0, {"kios-1": 1.0, "kios-2": 6 / 7}),
    # overlapping faults of both kiosks: the site is down for their union
    ([("kios-1", "09:00", "10:00"), ("kios-2", "09:30", "11:00")], 2.0,
     {"kios-1": 6 / 7, "kios-2": 5.5 / 7}),
    # before opening and after closing do not count
    ([("kios-1", "05:00", "08:00"), ("kios-1", "13:00", "16:00")], 2.0,
     {"kios-1": 5 / 7, "kios-2": 1.0}),
])
def test_availability_per_site_and_per_kiosk_node(
        faults: list[tuple[str, str, str]], site_down_h: float, nodes: dict[str, float]) -> None:
    site = impact.SiteInfo("dua", "Dua kios", ("kios-1", "kios-2"))
    events = [ev("kios-1", "00:00", "queue.reset", series=1, day="2026-11-02")]
    for node, start, end in faults:
        events += [ev(node, start, "device.fault", device="printer", state="paper_out"),
                   ev(node, end, "device.recovered", device="printer", state="ok")]
    day = Period("day", date(2026, 11, 2), date(2026, 11, 2))
    r = impact.report([site], events, day)
    assert r.city.down_s == site_down_h * 3600 and r.city.open_s == 7 * 3600
    assert dict(r.sites[0].nodes) == pytest.approx(nodes)


def test_a_button_stuck_while_another_recovers_keeps_the_path_down() -> None:
    site = impact.SiteInfo("dua", "Dua kios", ("kios-1",))
    events = [ev("kios-1", "08:00", "device.fault", device="button", name="A", state="stuck"),
              ev("kios-1", "09:00", "device.fault", device="button", name="B", state="stuck"),
              ev("kios-1", "09:30", "device.recovered", device="button", name="A"),
              ev("kios-1", "10:00", "device.recovered", device="button", name="B"),
              ev("kios-1", "11:00", "device.fault", device="bpjs", state="refused")]
    day = Period("day", date(2026, 11, 2), date(2026, 11, 2))
    assert impact.report([site], events, day).city.down_s == 2 * 3600  # bpjs: not the path


def test_the_generated_month_is_valid_by_the_contract() -> None:
    from contract.schemas import Schemas

    schemas = Schemas.load()
    for _, e in [*janti().events, *arjuno().events]:
        body = {"id": e.id, "site": e.site, "node": e.node, "epoch": e.epoch, "seq": e.seq,
                "ts": e.ts, "type": e.type, "data": e.data}
        assert schemas.errors("event", body) == [], body
