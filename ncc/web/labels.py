"""The Indonesian words the dashboard shows for the API's English values.

The API speaks English (``online``, ``acked``); operators read Bahasa Indonesia. One table
per kind of value; an unknown value is shown as it came, never hidden.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

WIB = ZoneInfo("Asia/Jakarta")

NODE_STATE = {"online": "daring", "silent": "senyap", "offline": "luring"}
# Shapes differ too (filled, half, empty), so no state is told by colour alone.
NODE_ICON = {"online": "●", "silent": "◐", "offline": "○"}
SEVERITY = {"critical": "kritis", "warning": "peringatan", "info": "info"}
SEVERITY_ICON = {"critical": "▲", "warning": "◆", "info": "ℹ"}
ALARM_STATE = {"open": "terbuka", "acked": "diakui", "cleared": "selesai"}
ALARM_KIND = {  # the kinds ncc.alarms raises
    "offline": "Node luring",
    "silent": "Node senyap",
    "site_unreachable": "Puskesmas tak terjangkau",
    "printer": "Printer bermasalah",
    "embosser": "Embosser Braille bermasalah",
    "cells": "Sel Braille bermasalah",
    "speaker": "Pengeras suara bermasalah",
    "buttons": "Tombol bermasalah",
    "storage": "Penyimpanan hampir penuh",
    "certificate": "Sertifikat segera kedaluwarsa",
    "clock_skew": "Jam node tidak sinkron",
    "backlog": "Antrean kiriman menumpuk",
    "version": "Versi perangkat lunak berbeda",
}
DEVICE = {
    "printer": "Printer",
    "embosser": "Embosser Braille",
    "cells": "Sel Braille",
    "speaker": "Pengeras suara",
    "buttons": "Tombol",
    "storage": "Penyimpanan",
    "clock": "Jam",
}
DEVICE_STATE = {
    "ok": "baik",
    "paper_out": "kertas habis",
    "paper_low": "kertas menipis",
    "offline": "tidak terhubung",
    "error": "galat",
    "stuck": "macet",
    "absent": "tidak dipasang",
    "unknown": "tidak diketahui",
    "full": "penuh",
}
EVENT_TYPE = {
    "ticket.issued": "Tiket diambil",
    "ticket.called": "Tiket dipanggil",
    "ticket.recalled": "Tiket dipanggil ulang",
    "ticket.skipped": "Tiket dilewati",
    "ticket.completed": "Pelayanan selesai",
    "ticket.transferred": "Tiket dipindahkan",
    "queue.reset": "Antrean diatur ulang",
    "label.printed": "Etiket dicetak",
    "help.requested": "Minta bantuan",
    "device.fault": "Perangkat galat",
    "device.recovered": "Perangkat pulih",
}
COMMAND = {
    "selftest": "Uji mandiri",
    "reprint": "Cetak ulang tiket",
    "announce": "Umumkan lewat pengeras suara",
    "message": "Pesan ke sel Braille",
}
ROLE = {"viewer": "pemantau", "operator": "operator"}


def word(table: dict[str, str], value: object) -> str:
    """The Indonesian word for ``value``; the value itself when the table lacks it."""
    if value is None:
        return "—"
    return table.get(str(value), str(value))


def when(iso: str | None) -> str:
    """An ISO timestamp as Malang reads it: ``30-11-2026 08:14:13 WIB``; ``—`` for none."""
    if not iso:
        return "—"
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    if moment.tzinfo is None:
        return iso
    return moment.astimezone(WIB).strftime("%d-%m-%Y %H:%M:%S WIB")


def duration(seconds: float | None) -> str:
    """``3 hari 4 jam``, ``12 menit``, ``40 detik``; ``—`` for none."""
    if seconds is None:
        return "—"
    s = int(seconds)
    days, hours, minutes = s // 86400, s % 86400 // 3600, s % 3600 // 60
    if days:
        return f"{days} hari {hours} jam"
    if hours:
        return f"{hours} jam {minutes} menit"
    if minutes:
        return f"{minutes} menit"
    return f"{s} detik"


def all_tables() -> dict[str, dict[str, str]]:
    """Every table, for the page's script (live updates render the same words)."""
    return {
        "node_state": NODE_STATE, "node_icon": NODE_ICON, "severity": SEVERITY,
        "severity_icon": SEVERITY_ICON, "alarm_state": ALARM_STATE, "alarm_kind": ALARM_KIND,
        "device": DEVICE, "device_state": DEVICE_STATE, "event_type": EVENT_TYPE,
    }
