"""What an ink ticket says, and its ESC/POS bytes: pure functions, no port.

The bytes come from python-escpos (``escpos.printer.Dummy``), which supports native QR
(GS ( k) and character sizes (ESC !, GS !), so no opcode is written by hand here.

>>> format_datetime_id(datetime(2026, 11, 29, 8, 5))
'Minggu, 29 November 2026 08.05'
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from escpos.printer import Dummy

from edge.ticket import TicketView

DAYS_ID = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
MONTHS_ID = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)  # fmt: skip

QR_PREFIX = "BREXIT"
BIG = 4  # magnification of the ticket number, for low-vision patients


def format_date_id(day: date) -> str:
    """``Minggu, 29 November 2026`` (KBBI spelling; no locale data needed)."""
    return f"{DAYS_ID[day.weekday()]}, {day.day} {MONTHS_ID[day.month - 1]} {day.year}"


def format_datetime_id(moment: datetime) -> str:
    """Date as above, then the time with the Indonesian full stop: ``08.05``."""
    return f"{format_date_id(moment.date())} {moment:%H.%M}"


def ahead_text(ahead: int) -> str:
    if ahead <= 0:
        return "Tidak ada antrean sebelum Anda"
    return f"{ahead} orang sebelum Anda"


@dataclass(frozen=True)
class QrTicket:
    """What the ticket's QR code carries: ``BREXIT|<site>|<number>|<YYYY-MM-DD>``.

    >>> QrTicket.parse("BREXIT|Puskesmas Janti|A-007|2026-11-29").number
    'A-007'
    """

    site_name: str
    number: str
    day: date

    def encode(self) -> str:
        return "|".join((QR_PREFIX, self.site_name, self.number, self.day.isoformat()))

    @classmethod
    def parse(cls, payload: str) -> QrTicket:
        parts = payload.split("|")
        if len(parts) != 4 or parts[0] != QR_PREFIX:
            raise ValueError(f"not a BREXIT ticket QR payload: {payload!r}")
        return cls(parts[1], parts[2], date.fromisoformat(parts[3]))

    @classmethod
    def of(cls, ticket: TicketView) -> QrTicket:
        return cls(ticket.site_name, ticket.number, ticket.issued_at.date())


def _wrapped(out: Dummy, text: str, width: int) -> None:
    for line in textwrap.wrap(text, width) or [""]:
        out.text(line + "\n")


def ticket_bytes(ticket: TicketView, width_chars: int = 32) -> bytes:
    """The whole ticket job: init, text, big number, QR, feed and cut."""
    out = Dummy()
    out.hw("INIT")
    out.set(align="center", bold=True)
    _wrapped(out, ticket.site_name.upper(), width_chars)
    out.set(align="center", bold=True, double_height=True)
    _wrapped(out, ticket.service_name, width_chars)
    out.set(align="center", normal_textsize=True, bold=False)
    out.text("Nomor Antrean\n")
    size = BIG if len(ticket.number) * BIG <= width_chars else 2
    out.set(align="center", custom_size=True, width=size, height=size)
    out.text(ticket.number + "\n")
    out.set(align="center", normal_textsize=True)
    _wrapped(out, format_datetime_id(ticket.issued_at), width_chars)
    _wrapped(out, ahead_text(ticket.ahead), width_chars)
    _wrapped(out, "Mohon menunggu panggilan", width_chars)
    if ticket.assisted:
        _wrapped(out, "Perlu pendampingan petugas", width_chars)
    out.qr(QrTicket.of(ticket).encode(), native=True, size=6, ec=1)
    out.set(align="left")
    return _cut(out)


def lines_bytes(lines: Iterable[str], title: str | None = None, width_chars: int = 32) -> bytes:
    """A plain document (a medicine label, a test page): optional bold title, then lines."""
    out = Dummy()
    out.hw("INIT")
    if title:
        out.set(align="center", bold=True, double_height=True)
        _wrapped(out, title, width_chars)
        out.set(align="left", normal_textsize=True, bold=False)
    for line in lines:
        _wrapped(out, line, width_chars)
    return _cut(out)


def _cut(out: Dummy) -> bytes:
    """Feed the printed part past the cutter (ESC d 6), then a full cut (GS V 0)."""
    out.cut()
    data: bytes = out.output
    return data
