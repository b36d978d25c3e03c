"""A generated month of events with known answers, for the impact tests (November 2026).

Janti (a Braille kiosk ``kios-1`` that holds the queue, a pharmacy ``farmasi-1``):

- 2 Nov: six Braille-kiosk tickets (wait 10 min, service 5 min), the sixth asks for help
  1 min after its ticket (answered by its own call 9 min later); eight other tickets (wait
  20 min, service 10 min); two Braille labels.
- 3 Nov: a Braille ticket transferred from A to B (wait 10 + 15 min, service 5 + 10 min);
  a Braille ticket recalled once then skipped (a no-show); a Braille ticket during whose
  visit staff issue an assisted ticket (not independent); another ticket recalled twice;
  one Braille label and one printed-only label (not Braille).
- 4 Nov: the kiosk offline 09:00-11:00; what it recorded meanwhile (the printer out of
  paper 09:30-10:30, a Braille ticket issued at 10:00) reaches the NCC through the outbox
  after everything else; a Braille ticket left waiting at closing.
- 5 Nov: the queue reset at midnight ends that ticket; A-001 again is a new patient.

Arjuno: five Braille-kiosk tickets and five others on 2 Nov, all served.
Every day opens with ``queue.reset``. Everything goes through ``SqliteStore.apply``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from ncc.impact import WIB, SiteInfo
from ncc.messages import EventMsg
from ncc.store import SqliteStore

JANTI = SiteInfo("janti", "UPT Puskesmas Janti", ("kios-1",), pharmacy=True)
ARJUNO = SiteInfo("arjuno", "UPT Puskesmas Arjuno", ("kios-1",), pharmacy=False)
SITES = (JANTI, ARJUNO)
MONTH = "2026-11"
ORAL = {"oral": 1, "external": 0, "antibiotic": 0, "suspension": 0, "sedating": 0}
OPEN_S = 4 * 7 * 3600  # janti: 4 days with events (2-5 November), 7 opening hours each

# The answers, worked out by hand from the script below.
JANTI_EXPECTED: dict[str, Any] = {
    "tickets": 24, "braille": 14, "independent": 10, "labelled": 3, "helps": 1,
    "answered": 1, "answer_median_s": 540.0, "outages": 1, "touched": 1,
    "down_s": 3600.0, "open_s": float(OPEN_S),
    "assisted": {"tickets": 15, "wait_n": 14, "wait_median_s": 600.0, "wait_p90_s": 1500.0,
                 "service_n": 13, "service_median_s": 300.0, "service_p90_s": 600.0,
                 "no_shows": 1, "recalls": 1},
    "others": {"tickets": 9, "wait_n": 9, "wait_median_s": 1200.0, "wait_p90_s": 1200.0,
               "service_n": 9, "service_median_s": 600.0, "service_p90_s": 600.0,
               "no_shows": 0, "recalls": 2},
}
CITY_EXPECTED = {"tickets": 34, "braille": 19, "independent": 15,
                 "open_s": 5.0 * 7 * 3600}  # arjuno: only 2 November


@dataclass
class Script:
    """Events of one site, numbered per node, with the time they reach the NCC."""

    site: str
    seqs: dict[str, int] = field(default_factory=dict)
    events: list[tuple[float, EventMsg]] = field(default_factory=list)

    def add(self, on: date, hhmm: str, type_: str, node: str = "kios-1",
            late_until: datetime | None = None, **data: Any) -> None:
        h, m = (int(x) for x in hhmm.split(":"))
        ts = datetime(on.year, on.month, on.day, h, m, tzinfo=WIB)
        seq = self.seqs[node] = self.seqs.get(node, 0) + 1
        received = (late_until or ts + timedelta(seconds=1)).timestamp()
        self.events.append((received, EventMsg(
            self.site, node, "ep1", seq, str(uuid.uuid4()), ts.isoformat(), type_, data,
            received)))

    def ticket(self, day: date, number: str, issued: str, *, assisted: bool,
               called: str | None = None, done: str | None = None, source: str = "kios-1",
               late: datetime | None = None) -> None:
        self.add(day, issued, "ticket.issued", late_until=late, number=number,
                 service=number[0], assisted=assisted, ahead=0, day=day.isoformat(),
                 source=source)
        if called:
            self.add(day, called, "ticket.called", late_until=late, number=number, counter=1,
                     assisted=assisted)
        if done:
            self.add(day, done, "ticket.completed", late_until=late, number=number, counter=1)

    def reset(self, day: date, series: int) -> None:
        self.add(day, "00:00", "queue.reset", series=series, day=day.isoformat(),
                 reason="new_day")


def hm(start: str, minutes: int) -> str:
    h, m = (int(x) for x in start.split(":"))
    t = h * 60 + m + minutes
    return f"{t // 60:02d}:{t % 60:02d}"


def janti() -> Script:
    s = Script("janti")
    d2, d3, d4, d5 = (date(2026, 11, n) for n in (2, 3, 4, 5))
    s.reset(d2, 1)
    for i in range(6):
        issued = hm("08:00", 20 * i)
        if i == 5:
            s.add(d2, issued, "ticket.issued", number="A-006", service="A", assisted=True,
                  ahead=0, day=d2.isoformat(), source="kios-1")
            s.add(d2, hm(issued, 1), "help.requested", source="kios-1")
            s.add(d2, hm(issued, 10), "ticket.called", number="A-006", counter=1)
            s.add(d2, hm(issued, 15), "ticket.completed", number="A-006", counter=1)
        else:
            s.ticket(d2, f"A-{i + 1:03d}", issued, assisted=True, called=hm(issued, 10),
                     done=hm(issued, 15))
    for j in range(8):
        issued = hm("11:00", 10 * j)
        s.ticket(d2, f"B-{j + 1:03d}", issued, assisted=False, called=hm(issued, 20),
                 done=hm(issued, 30))
    for hhmm in ("12:00", "12:30"):
        s.add(d2, hhmm, "label.printed", node="farmasi-1", labels=1, classes=ORAL,
              outputs=["embosser", "printer", "speech"], source="form")

    s.reset(d3, 2)
    s.ticket(d3, "A-001", "08:00", assisted=True, called="08:10")
    s.add(d3, "08:15", "ticket.transferred", number="A-001", **{"from": "A", "to": "B"},
          counter=1)
    s.add(d3, "08:30", "ticket.called", number="A-001", counter=2)
    s.add(d3, "08:40", "ticket.completed", number="A-001", counter=2)
    s.ticket(d3, "A-002", "09:00", assisted=True, called="09:10")
    s.add(d3, "09:12", "ticket.recalled", number="A-002", counter=1, calls=2)
    s.add(d3, "09:15", "ticket.skipped", number="A-002", counter=1)
    s.ticket(d3, "A-003", "10:00", assisted=True)
    s.ticket(d3, "A-004", "10:05", assisted=True, source="staff")
    s.add(d3, "10:20", "ticket.called", number="A-003", counter=1)
    s.add(d3, "10:25", "ticket.completed", number="A-003", counter=1)
    s.add(d3, "10:30", "ticket.called", number="A-004", counter=1)
    s.add(d3, "10:40", "ticket.completed", number="A-004", counter=1)
    s.ticket(d3, "B-001", "11:00", assisted=False, called="11:10")
    s.add(d3, "11:11", "ticket.recalled", number="B-001", counter=1, calls=2)
    s.add(d3, "11:12", "ticket.recalled", number="B-001", counter=1, calls=3)
    s.add(d3, "11:20", "ticket.completed", number="B-001", counter=1)
    s.add(d3, "12:00", "label.printed", node="farmasi-1", labels=1, classes=ORAL,
          outputs=["embosser", "printer"], source="form")
    s.add(d3, "12:10", "label.printed", node="farmasi-1", labels=1, classes=ORAL,
          outputs=["printer"], source="form")

    s.reset(d4, 3)
    s.ticket(d4, "A-001", "08:00", assisted=True, called="08:05", done="08:10")
    back = datetime(2026, 11, 5, 8, 30, tzinfo=WIB)  # the outbox empties the next morning
    s.add(d4, "09:30", "device.fault", late_until=back, device="printer", state="paper_out")
    s.ticket(d4, "A-002", "10:00", assisted=True, called="10:20", done="10:30", late=back)
    s.add(d4, "10:30", "device.recovered", late_until=back, device="printer", state="ok")
    s.ticket(d4, "A-003", "11:30", assisted=True, called="11:40", done="11:45")
    s.ticket(d4, "A-004", "13:50", assisted=True)

    s.reset(d5, 4)
    s.ticket(d5, "A-001", "08:00", assisted=True, called="08:10", done="08:20")
    return s


def arjuno() -> Script:
    s = Script("arjuno")
    d2 = date(2026, 11, 2)
    s.reset(d2, 1)
    for i in range(5):
        issued = hm("08:00", 15 * i)
        s.ticket(d2, f"A-{i + 1:03d}", issued, assisted=True, called=hm(issued, 5),
                 done=hm(issued, 10))
        s.ticket(d2, f"B-{i + 1:03d}", hm(issued, 1), assisted=False, called=hm(issued, 6),
                 done=hm(issued, 11))
    return s


def fill(store: SqliteStore, *scripts: Script) -> int:
    """Store the scripts' events in the order they reach the NCC, one batch per minute of
    arrival; the number stored."""
    events = sorted((e for s in scripts for e in s.events), key=lambda x: x[0])
    stored = 0
    batch: list[EventMsg] = []
    minute = None
    for received, msg in events:
        if minute is not None and int(received // 60) != minute and batch:
            stored += store.apply(batch).stored
            batch = []
        minute = int(received // 60)
        batch.append(msg)
    if batch:
        stored += store.apply(batch).stored
    return stored


def december(store: SqliteStore) -> None:
    """Later events: a report for November must not change once they are stored."""
    s = Script("janti", seqs={"kios-1": 1000})
    d = date(2026, 12, 1)
    s.reset(d, 5)
    s.ticket(d, "A-001", "08:00", assisted=True, called="08:10", done="08:20")
    s.add(d, "08:30", "device.fault", device="printer", state="paper_out")
    fill(store, s)
