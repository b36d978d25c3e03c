"""The ticket as every output (speech, Braille, ink, cells) sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TicketView:
    """Everything needed to speak, emboss or print one ticket.

    >>> t = TicketView("A-007", "A", "Poli Umum", datetime(2026, 11, 29, 8, 5), 3,
    ...                "Puskesmas Janti")
    >>> t.code, t.serial
    ('A', 7)
    """

    number: str  # "A-007"
    service_code: str  # "A"
    service_name: str  # "Poli Umum"
    issued_at: datetime  # local time, Asia/Jakarta
    ahead: int  # tickets waiting before this one
    site_name: str  # "Puskesmas Janti"
    assisted: bool = False  # issued at the Braille kiosk: needs assistance
    service_spoken: str = ""  # the config's spoken_name; "" = the name, acronyms spelled

    @property
    def code(self) -> str:
        return self.number.split("-", 1)[0]

    @property
    def serial(self) -> int:
        return int(self.number.split("-", 1)[1])
