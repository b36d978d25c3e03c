"""Impact figures per puskesmas and for the city, computed from stored events only.

Pure: events in, figures out (no store, no clock). The same events give the same figures,
so a report for November read in December is the November report. Definitions of every
figure: docs/ncc.md, section "Dampak (impact)".

The walk over one site's events (``site_log``) follows each ticket from ``ticket.issued``
through calls, transfers and recalls to its end; events are ordered by the node's own
time stamp, so events that arrive late through a node's outbox land where they happened.
A ``queue.reset`` (midnight) ends every ticket still open, so a number issued again the
next day is a new ticket.

>>> from datetime import date
>>> p = month("2026-11")
>>> (p.first, p.last, len(p.days()))
(datetime.date(2026, 11, 1), datetime.date(2026, 11, 30), 30)
>>> shown_count(3), shown_count(0), shown_count(12)
('< 5', 0, 12)
>>> percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.9)
5.0
"""

from __future__ import annotations

import math
import re
import statistics
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from enum import Enum
from typing import Any

WIB = timezone(timedelta(hours=7))  # Kota Malang
MIN_SHOWN = 5  # counts 1..4 are shown as "< 5"
KIOSK_PATH = frozenset({"button", "buttons", "speaker", "embosser", "printer", "cells",
                        "storage"})
STAFF_ACTIONS = frozenset({"ticket.called", "ticket.recalled", "ticket.skipped",
                           "ticket.completed", "ticket.transferred"})
TYPES = ("ticket.issued", "ticket.called", "ticket.recalled", "ticket.skipped",
         "ticket.completed", "ticket.transferred", "queue.reset", "label.printed",
         "help.requested", "device.fault", "device.recovered")


class ImpactError(ValueError):
    """A period or a site that cannot be reported; the message names it."""


class Outcome(Enum):
    COMPLETED = "completed"
    SKIPPED = "skipped"  # no-show
    UNFINISHED = "unfinished"  # still open at a queue reset or at the end of the data


@dataclass(frozen=True)
class Event:
    site: str
    node: str
    ts: datetime
    type: str
    data: Mapping[str, Any]
    epoch: str = ""
    seq: int = 0

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Event:
        """From the store's event view (``ts`` in ISO 8601 with the node's offset)."""
        return cls(row["site"], row["node"], parse_time(row["ts"]), row["type"],
                   row["data"], row.get("epoch", ""), int(row.get("seq", 0)))

    def key(self) -> tuple[datetime, str, str, int]:
        return (self.ts, self.node, self.epoch, self.seq)


def parse_time(ts: str) -> datetime:
    t = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return t if t.tzinfo is not None else t.replace(tzinfo=WIB)


@dataclass(frozen=True)
class Period:
    """Whole local days, ``first`` to ``last`` inclusive."""

    kind: str  # "day" | "week" | "month"
    first: date
    last: date

    @property
    def label(self) -> str:
        if self.kind == "month":
            return self.first.strftime("%Y-%m")
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        return self.first.isoformat()

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def contains(self, t: datetime) -> bool:
        return self.first <= t.astimezone(WIB).date() <= self.last

    def start(self) -> datetime:
        return datetime.combine(self.first, time(), WIB)

    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), WIB)

    def split(self, kind: str) -> list[Period]:
        """The days or the (ISO, Monday-first) weeks of this period, clipped to it."""
        if kind == "day":
            return [Period("day", d, d) for d in self.days()]
        if kind == "week":
            out: list[Period] = []
            d = self.first
            while d <= self.last:
                end = min(self.last, d + timedelta(days=6 - d.weekday()))
                out.append(Period("week", d, end))
                d = end + timedelta(days=1)
            return out
        return [self]


def month(text: str) -> Period:
    """``2026-11`` as a period; ImpactError for anything else."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", text or "")
    if m is None or not 1 <= int(m.group(2)) <= 12:
        raise ImpactError(f"month: {text!r} is not YYYY-MM (for example 2026-11)")
    first = date(int(m.group(1)), int(m.group(2)), 1)
    after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return Period("month", first, after - timedelta(days=1))


@dataclass(frozen=True)
class Hours:
    """Opening hours: the same local times on the listed weekdays (0 = Monday)."""

    opens: time = time(7, 0)
    closes: time = time(14, 0)
    weekdays: frozenset[int] = frozenset(range(6))  # Monday to Saturday

    def spans(self, period: Period) -> list[tuple[datetime, datetime]]:
        return [(datetime.combine(d, self.opens, WIB), datetime.combine(d, self.closes, WIB))
                for d in period.days() if d.weekday() in self.weekdays]


@dataclass(frozen=True)
class SiteInfo:
    id: str
    name: str
    kiosk_nodes: tuple[str, ...] = ()
    pharmacy: bool = False

    @classmethod
    def from_fleet(cls, site: Any) -> SiteInfo:
        """From a ``contract.fleet.Site``."""
        return cls(site.id, site.name, tuple(n.id for n in site.nodes if "kiosk" in n.roles),
                   any("pharmacy" in n.roles for n in site.nodes))


# --- one site's tickets, help requests, labels and outages ------------------------------------
@dataclass(frozen=True)
class Visit:
    """One ticket from issue to its end."""

    number: str
    node: str  # the node that recorded the issue
    assisted: bool
    kiosk: bool  # issued by the kiosk itself (not by staff)
    issued: datetime
    wait_s: float | None  # every stretch spent waiting until called; None: never called
    service_s: float | None  # every stretch at a counter until completed or transferred
    outcome: Outcome
    ended: datetime | None
    recalls: int
    transfers: int
    helped: bool  # a help request was made during the visit
    staff_ticket: bool  # staff issued an assisted ticket during the visit

    @property
    def braille(self) -> bool:
        """A Braille-kiosk patient: an assisted ticket the kiosk issued itself."""
        return self.assisted and self.kiosk

    @property
    def independent(self) -> bool:
        return (self.braille and self.outcome is Outcome.COMPLETED and not self.helped
                and not self.staff_ticket)


@dataclass(frozen=True)
class Help:
    ts: datetime
    answered: datetime | None  # the site's next staff action


@dataclass(frozen=True)
class Outage:
    node: str
    start: datetime
    end: datetime | None  # None: still down at the end of the data
    touched: int  # kiosk tickets issued at the node meanwhile (a press answered with a fault)


@dataclass(frozen=True)
class SiteLog:
    site: SiteInfo
    visits: tuple[Visit, ...]
    helps: tuple[Help, ...]
    labels: tuple[tuple[datetime, int], ...]  # Braille medicine labels printed
    outages: tuple[Outage, ...]
    days: frozenset[date] = frozenset()  # local days with any event of the site


@dataclass
class _Open:
    number: str
    node: str
    assisted: bool
    kiosk: bool
    issued: datetime
    waiting_since: datetime | None
    at_counter_since: datetime | None = None
    wait_s: float | None = None
    service_s: float | None = None
    recalls: int = 0
    transfers: int = 0
    helped: bool = False
    staff_ticket: bool = False

    def close(self, outcome: Outcome, at: datetime | None) -> Visit:
        return Visit(self.number, self.node, self.assisted, self.kiosk, self.issued, self.wait_s,
                     self.service_s, outcome, at, self.recalls, self.transfers, self.helped,
                     self.staff_ticket)


def _add(total: float | None, since: datetime | None, now: datetime) -> float | None:
    if since is None:
        return total
    return (total or 0.0) + max(0.0, (now - since).total_seconds())


@dataclass
class _Walk:
    """The state of one pass over a site's events (ordered by the node's time)."""

    open: dict[str, _Open] = field(default_factory=dict)
    done: list[Visit] = field(default_factory=list)
    helps: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    labels: list[tuple[datetime, int]] = field(default_factory=list)

    def latest_braille(self) -> _Open | None:
        braille = [v for v in self.open.values() if v.assisted and v.kiosk]
        return max(braille, key=lambda v: v.issued, default=None)

    def answer(self, at: datetime) -> None:
        self.helps = [(t, at if a is None else a) for t, a in self.helps]

    def end(self, number: str, outcome: Outcome, at: datetime) -> None:
        v = self.open.pop(number, None)
        if v is not None:
            if outcome is Outcome.COMPLETED:
                v.service_s = _add(v.service_s, v.at_counter_since, at)
            self.done.append(v.close(outcome, at))

    def step(self, e: Event) -> None:
        number = str(e.data.get("number", ""))
        v = self.open.get(number)
        if e.type == "ticket.issued":
            self.issue(e, number)
        elif e.type == "ticket.called" and v is not None:
            v.wait_s = _add(v.wait_s, v.waiting_since, e.ts)
            v.waiting_since, v.at_counter_since = None, e.ts
        elif e.type == "ticket.recalled" and v is not None:
            v.recalls += 1
        elif e.type == "ticket.transferred" and v is not None:
            v.service_s = _add(v.service_s, v.at_counter_since, e.ts)
            v.waiting_since, v.at_counter_since = e.ts, None
            v.transfers += 1
        elif e.type == "ticket.completed":
            self.end(number, Outcome.COMPLETED, e.ts)
        elif e.type == "ticket.skipped":
            self.end(number, Outcome.SKIPPED, e.ts)
        elif e.type == "queue.reset":
            for n in list(self.open):
                self.end(n, Outcome.UNFINISHED, e.ts)
        elif e.type == "help.requested":
            self.helps.append((e.ts, None))
            latest = self.latest_braille()
            if latest is not None:
                latest.helped = True
        elif e.type == "label.printed" and _braille_label(e.data):
            self.labels.append((e.ts, int(e.data.get("labels", 1))))
        if e.type in STAFF_ACTIONS:
            self.answer(e.ts)

    def issue(self, e: Event, number: str) -> None:
        assisted = bool(e.data.get("assisted"))
        kiosk = e.data.get("source", e.node) == e.node
        if not kiosk:
            self.answer(e.ts)  # staff issuing a ticket is a staff action
            latest = self.latest_braille()
            if assisted and latest is not None:
                latest.staff_ticket = True
        if number in self.open:  # the same number again without a reset: the old one ends
            self.end(number, Outcome.UNFINISHED, e.ts)
        self.open[number] = _Open(number, e.node, assisted, kiosk, e.ts, e.ts)


def _braille_label(data: Mapping[str, Any]) -> bool:
    outputs = data.get("outputs")
    return not isinstance(outputs, list) or "embosser" in outputs


def site_log(site: SiteInfo, events: Iterable[Event]) -> SiteLog:
    """Follow every ticket, help request, label and outage of one site."""
    ordered = sorted((e for e in events if e.site == site.id), key=Event.key)
    walk = _Walk()
    for e in ordered:
        walk.step(e)
    visits = [*walk.done, *(v.close(Outcome.UNFINISHED, None) for v in walk.open.values())]
    visits.sort(key=lambda v: v.issued)
    helps = tuple(Help(t, a) for t, a in walk.helps)
    return SiteLog(site, tuple(visits), helps, tuple(walk.labels),
                   tuple(outages(site, ordered, visits)),
                   frozenset(e.ts.astimezone(WIB).date() for e in ordered))


def outages(site: SiteInfo, ordered: Sequence[Event], visits: Sequence[Visit]) -> list[Outage]:
    """Spans in which a kiosk node had a device of its kiosk path in fault."""
    kiosks = set(site.kiosk_nodes) | {v.node for v in visits if v.kiosk}
    out: list[Outage] = []
    for node in sorted(kiosks):
        down: set[tuple[str, str]] = set()
        start: datetime | None = None
        for e in ordered:
            if e.node != node or e.type not in ("device.fault", "device.recovered"):
                continue
            device = str(e.data.get("device", ""))
            if device not in KIOSK_PATH:
                continue
            part = (device, str(e.data.get("name", "")))
            bad = e.type == "device.fault" and e.data.get("state", "error") != "ok"
            before = bool(down)
            (down.add if bad else down.discard)(part)
            if down and not before:
                start = e.ts
            elif before and not down and start is not None:
                out.append(_outage(node, start, e.ts, visits))
        if down and start is not None:
            out.append(_outage(node, start, None, visits))
    return out


def _outage(node: str, start: datetime, end: datetime | None, visits: Sequence[Visit]) -> Outage:
    touched = sum(1 for v in visits if v.kiosk and v.node == node and start <= v.issued
                  and (end is None or v.issued < end))
    return Outage(node, start, end, touched)


# --- figures ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Times:
    n: int
    median_s: float | None
    p90_s: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Times:
        if not values:
            return cls(0, None, None)
        return cls(len(values), float(statistics.median(values)), percentile(values, 0.9))


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest rank: the smallest value with at least ``q`` of the values at or below it."""
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(q * len(ordered)) - 1)])


@dataclass(frozen=True)
class Group:
    tickets: int
    wait: Times
    service: Times
    no_shows: int
    recalls: int

    @classmethod
    def of(cls, visits: Sequence[Visit]) -> Group:
        return cls(len(visits), Times.of([v.wait_s for v in visits if v.wait_s is not None]),
                   Times.of([v.service_s for v in visits
                             if v.service_s is not None and v.outcome is Outcome.COMPLETED]),
                   sum(1 for v in visits if v.outcome is Outcome.SKIPPED),
                   sum(v.recalls for v in visits))


@dataclass(frozen=True)
class Figures:
    tickets: int
    braille: int  # Braille-kiosk patients
    independent: int
    pharmacy: bool  # some site in the figures has a pharmacy node
    labelled: int  # independent Braille-kiosk patients who also got a Braille label (bound)
    braille_pharmacy: int  # Braille-kiosk patients at sites with a pharmacy node
    assisted: Group
    others: Group
    open_s: float  # opening-hour seconds of the kiosk nodes in the period
    down_s: float  # of them, with the kiosk path in fault
    outages: int  # outages that touched patients
    touched: int  # patients whose press was answered with a fault
    helps: int
    answered: int
    answer: Times

    @property
    def braille_share(self) -> float | None:
        return _share(self.braille, self.tickets)

    @property
    def independence(self) -> float | None:
        return _share(self.independent, self.braille)

    @property
    def label_share(self) -> float | None:
        return _share(self.labelled, self.braille_pharmacy) if self.pharmacy else None

    @property
    def availability(self) -> float | None:
        return None if self.open_s <= 0 else 1.0 - self.down_s / self.open_s


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def clip(log: SiteLog, period: Period) -> SiteLog:
    """The log's visits, help requests and labels in ``period`` (the outages stay whole:
    one that began before the period may still be going on)."""
    a, b = period.start(), period.end()

    def cut(items: tuple[Any, ...], when: Any) -> tuple[Any, ...]:
        return items[bisect_left(items, a, key=when):bisect_left(items, b, key=when)]

    return replace(log, visits=cut(log.visits, lambda v: v.issued),
                   helps=cut(log.helps, lambda h: h.ts), labels=cut(log.labels, lambda x: x[0]))


def figures(logs: Sequence[SiteLog], period: Period, hours: Hours = Hours(),
            until: datetime | None = None) -> Figures:
    """The figures of one site (one log) or the city (every log), pooled over ``period``;
    ``until``: opening hours after it (the future) are not counted."""
    logs = [clip(log, period) for log in logs]
    visits = [v for log in logs for v in log.visits]
    assisted = [v for v in visits if v.assisted]
    braille = [v for v in visits if v.braille]
    pharmacy = [log for log in logs if log.site.pharmacy]
    labelled = sum(min(sum(n for _, n in log.labels),
                       sum(1 for v in log.visits if v.independent)) for log in pharmacy)
    helps = [h for log in logs for h in log.helps]
    answered = [(h.answered - h.ts).total_seconds() for h in helps if h.answered is not None]
    open_s = down_s = 0.0
    for log in logs:
        o, d = _availability(log, period, hours, until)
        open_s, down_s = open_s + o, down_s + d
    touching = [o for log in logs for o in log.outages
                if o.touched and period.start() <= o.start < period.end()]
    return Figures(
        tickets=len(visits), braille=len(braille),
        independent=sum(1 for v in braille if v.independent),
        pharmacy=bool(pharmacy), labelled=labelled,
        braille_pharmacy=sum(1 for log in pharmacy for v in log.visits if v.braille),
        assisted=Group.of(assisted), others=Group.of([v for v in visits if not v.assisted]),
        open_s=open_s, down_s=down_s, outages=len(touching),
        touched=sum(o.touched for o in touching), helps=len(helps), answered=len(answered),
        answer=Times.of(answered),
    )


def kiosk_nodes(log: SiteLog) -> list[str]:
    return sorted(set(log.site.kiosk_nodes) | {v.node for v in log.visits if v.kiosk})


def node_availability(log: SiteLog, period: Period, hours: Hours = Hours(),
                      until: datetime | None = None) -> dict[str, float | None]:
    """Each kiosk node's share of opening hours with its kiosk path working."""
    out: dict[str, float | None] = {}
    for node in kiosk_nodes(log):
        open_s, down_s = _availability(log, period, hours, until, node)
        out[node] = None if open_s <= 0 else 1.0 - down_s / open_s
    return out


def _availability(log: SiteLog, period: Period, hours: Hours, until: datetime | None,
                  node: str | None = None) -> tuple[float, float]:
    """Opening-hour seconds of the site and those in which any kiosk path (or ``node``'s)
    was down; only days on which the site recorded something count (a holiday is not
    availability)."""
    if not kiosk_nodes(log):
        return 0.0, 0.0
    spans = [(a, min(b, until) if until else b) for a, b in hours.spans(period)
             if a.date() in log.days]
    spans = [(a, b) for a, b in spans if b > a]
    down = _merge([(o.start, o.end or period.end()) for o in log.outages
                   if node is None or o.node == node])
    open_s = sum((b - a).total_seconds() for a, b in spans)
    down_s = sum(max(0.0, (min(b, d1) - max(a, d0)).total_seconds())
                 for a, b in spans for d0, d1 in down)
    return open_s, down_s


def _merge(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


# --- the report: every site, the city, the trend ----------------------------------------------
@dataclass(frozen=True)
class SiteReport:
    site: SiteInfo
    figures: Figures
    trend: tuple[tuple[Period, Figures], ...]
    nodes: tuple[tuple[str, float | None], ...] = ()  # each kiosk node's availability


@dataclass(frozen=True)
class Report:
    period: Period
    sites: tuple[SiteReport, ...]
    city: Figures
    city_trend: tuple[tuple[Period, Figures], ...]
    first_event: datetime | None
    last_event: datetime | None


def report(sites: Sequence[SiteInfo], events: Sequence[Event], period: Period, *,
           trend: str = "day", hours: Hours = Hours(), until: datetime | None = None
           ) -> Report:
    """Figures of ``period`` for every site and the city, with a trend per day or week.

    ``events``: the period's events (device events before it may be included: they give
    the devices' state at its start)."""
    by_site: dict[str, list[Event]] = {}
    for e in events:
        by_site.setdefault(e.site, []).append(e)
    logs = [site_log(s, by_site.get(s.id, [])) for s in sites]
    parts = period.split(trend)
    rows = tuple(SiteReport(log.site, figures([log], period, hours, until),
                            tuple((p, figures([log], p, hours, until)) for p in parts),
                            tuple(node_availability(log, period, hours, until).items()))
                 for log in logs)
    start, end = period.start(), period.end()
    inside = [e.ts for e in events if start <= e.ts < end]
    return Report(period, rows, figures(logs, period, hours, until),
                  tuple((p, figures(logs, p, hours, until)) for p in parts),
                  min(inside, default=None), max(inside, default=None))


# --- what may be shown (no patient identifiable) ---------------------------------------------
def shown_count(n: int) -> int | str:
    """A count as it may be shown: 1 to 4 become "< 5"."""
    return "< 5" if 0 < n < MIN_SHOWN else n


def shown_share(part: int, whole: int) -> float | None:
    """A share in percent (one decimal), or None when it would stand for fewer than 5
    patients: the whole under 5, or the part 1 to 4 (shown as a count it would be "< 5")."""
    if whole < MIN_SHOWN or 0 < part < MIN_SHOWN:
        return None
    return round(100.0 * part / whole, 1)


def shown_minutes(t: Times, which: str) -> float | None:
    """A median or p90 in minutes (one decimal), only over 5 or more patients."""
    value = t.median_s if which == "median" else t.p90_s
    if t.n < MIN_SHOWN or value is None:
        return None
    return round(value / 60.0, 1)


@dataclass(frozen=True)
class Field:
    key: str
    label: str  # Bahasa Indonesia, for the page, the PDF and the CSV's second header
    unit: str


FIELDS: tuple[Field, ...] = (
    Field("tickets", "Tiket seluruhnya", "tiket"),
    Field("braille", "Tiket kios Braille", "tiket"),
    Field("braille_share", "Porsi kios Braille", "%"),
    Field("independent", "Pasien kios Braille mandiri", "pasien"),
    Field("independence", "Kemandirian", "%"),
    Field("label_share", "Mandiri dan mendapat etiket Braille", "%"),
    Field("wait_median_assisted", "Tunggu, median, dibantu", "menit"),
    Field("wait_p90_assisted", "Tunggu, p90, dibantu", "menit"),
    Field("wait_median_others", "Tunggu, median, lainnya", "menit"),
    Field("wait_p90_others", "Tunggu, p90, lainnya", "menit"),
    Field("service_median_assisted", "Layanan, median, dibantu", "menit"),
    Field("service_p90_assisted", "Layanan, p90, dibantu", "menit"),
    Field("service_median_others", "Layanan, median, lainnya", "menit"),
    Field("service_p90_others", "Layanan, p90, lainnya", "menit"),
    Field("no_shows_assisted", "Tidak hadir, dibantu", "tiket"),
    Field("no_shows_others", "Tidak hadir, lainnya", "tiket"),
    Field("recalls_assisted", "Panggilan ulang, dibantu", "kali"),
    Field("recalls_others", "Panggilan ulang, lainnya", "kali"),
    Field("availability", "Ketersediaan kios", "%"),
    Field("outages", "Gangguan yang mengenai pasien", "gangguan"),
    Field("touched", "Pasien terkena gangguan", "pasien"),
    Field("helps", "Permintaan bantuan", "permintaan"),
    Field("helps_answered", "Bantuan dijawab", "permintaan"),
    Field("help_median", "Waktu jawab bantuan, median", "menit"),
    Field("help_p90", "Waktu jawab bantuan, p90", "menit"),
)


def shown(f: Figures) -> dict[str, int | float | str | None]:
    """Every figure as it may be shown, keyed as ``FIELDS``; None: not shown (too few, or
    not applicable)."""
    a, o = f.assisted, f.others
    availability = f.availability
    return {
        "tickets": shown_count(f.tickets),
        "braille": shown_count(f.braille),
        "braille_share": shown_share(f.braille, f.tickets),
        "independent": shown_count(f.independent),
        "independence": shown_share(f.independent, f.braille),
        "label_share": shown_share(f.labelled, f.braille_pharmacy) if f.pharmacy else None,
        "wait_median_assisted": shown_minutes(a.wait, "median"),
        "wait_p90_assisted": shown_minutes(a.wait, "p90"),
        "wait_median_others": shown_minutes(o.wait, "median"),
        "wait_p90_others": shown_minutes(o.wait, "p90"),
        "service_median_assisted": shown_minutes(a.service, "median"),
        "service_p90_assisted": shown_minutes(a.service, "p90"),
        "service_median_others": shown_minutes(o.service, "median"),
        "service_p90_others": shown_minutes(o.service, "p90"),
        "no_shows_assisted": shown_count(a.no_shows),
        "no_shows_others": shown_count(o.no_shows),
        "recalls_assisted": shown_count(a.recalls),
        "recalls_others": shown_count(o.recalls),
        "availability": None if availability is None else round(100.0 * availability, 1),
        "outages": f.outages,
        "touched": shown_count(f.touched),
        "helps": shown_count(f.helps),
        "helps_answered": shown_count(f.answered),
        "help_median": shown_minutes(f.answer, "median"),
        "help_p90": shown_minutes(f.answer, "p90"),
    }


def text(value: int | float | str | None) -> str:
    """A shown figure as text (Indonesian decimal comma); "—" when not shown."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    return str(value)


def as_json(r: Report) -> dict[str, Any]:
    """The report as the API returns it: only what may be shown."""
    def block(f: Figures) -> dict[str, Any]:
        return shown(f)

    return {
        "period": {"kind": r.period.kind, "label": r.period.label,
                   "first": r.period.first.isoformat(), "last": r.period.last.isoformat()},
        "data": {"first_event": _iso(r.first_event), "last_event": _iso(r.last_event)},
        "fields": [{"key": x.key, "label": x.label, "unit": x.unit} for x in FIELDS],
        "city": {"figures": block(r.city),
                 "trend": [{"period": p.label, "figures": block(f)} for p, f in r.city_trend]},
        "sites": [{"site": s.site.id, "name": s.site.name, "pharmacy": s.site.pharmacy,
                   "figures": block(s.figures),
                   "availability_nodes": {n: None if a is None else round(100.0 * a, 1)
                                          for n, a in s.nodes},
                   "trend": [{"period": p.label, "figures": block(f)} for p, f in s.trend]}
                  for s in r.sites],
    }


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(WIB).isoformat(timespec="seconds")
