"""A local stand-in for BPJS Kesehatan's Antrean FKTP service, on loopback.

It checks what the real service checks (consumer id, user key, the signature, the age of
the timestamp, each field of each call), encrypts its answers for the request's own
timestamp, and can be told to misbehave: refuse (201), answer an HTML error page or an
empty body, hang past the client's timeout, or be down altogether.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from edge.bpjs.wire import seal_response, signature

CONS_ID, SECRET, USER_KEY = "31337", "rahasia-uji", "kunci-pengguna-uji"  # invented
MAX_AGE_S = 300

FIELDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "add": {"nomorkartu": str, "nik": str, "nohp": str, "kodepoli": str, "namapoli": str,
            "norm": str, "tanggalperiksa": str, "kodedokter": (int, type(None)),
            "namadokter": str, "jampraktek": str, "nomorantrean": str, "angkaantrean": int,
            "keterangan": str},
    "panggil": {"tanggalperiksa": str, "kodepoli": str, "nomorkartu": str, "status": int,
                "waktu": int},
    "batal": {"tanggalperiksa": str, "kodepoli": str, "nomorkartu": str, "alasan": str},
}


class Mode(Enum):
    NORMAL = "normal"
    REFUSE = "refuse"  # 201 for every call
    HTML = "html"  # a proxy's HTML error page (HTTP 502)
    EMPTY = "empty"  # 200 with an empty body
    HANG = "hang"  # answers after the client has given up


@dataclass
class Received:
    call: str
    body: dict[str, Any]


@dataclass
class MockState:
    mode: Mode = Mode.NORMAL
    hang_s: float = 3.0
    received: list[Received] = field(default_factory=list)  # accepted calls, in order
    rejected: list[str] = field(default_factory=list)  # why requests were refused
    queues: set[tuple[str, str, str]] = field(default_factory=set)  # (day, poli, card)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return None

    def do_POST(self) -> None:
        state = self.server.state
        mode = state.mode
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if mode is Mode.HANG:  # a gateway that never passes the request on
            time.sleep(state.hang_s)
            self._reply(504, b"", "text/plain")
            return
        if mode is Mode.HTML:
            self._reply(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
            return
        if mode is Mode.EMPTY:
            self._reply(200, b"", "application/json")
            return
        ts, problem = self._check_headers()
        if problem:
            self._answer(401, problem, ts)
            return
        call = self.path.removeprefix("/antreanfktp/antrean/")
        code, message = self._check_call(call, raw, refuse=mode is Mode.REFUSE)
        self._answer(code, message, ts)

    def _check_headers(self) -> tuple[int, str]:
        h = self.headers
        try:
            ts = int(h.get("X-timestamp", ""))
        except ValueError:
            return 0, "X-timestamp tidak valid"
        if h.get("X-cons-id") != CONS_ID or h.get("user_key") != USER_KEY:
            return ts, "consumer tidak dikenal"
        if abs(time.time() - ts) > MAX_AGE_S:
            return ts, "X-timestamp kedaluwarsa"
        if h.get("X-signature") != signature(CONS_ID, SECRET, ts):
            return ts, "signature tidak valid"
        return ts, ""

    def _check_call(self, call: str, raw: bytes, *, refuse: bool) -> tuple[int, str]:
        state = self.server.state
        if call not in FIELDS:
            return 201, f"layanan {call} tidak ada"
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return 201, "body bukan JSON"
        for name, kind in FIELDS[call].items():
            if name not in body or not isinstance(body[name], kind) or isinstance(
                body[name], bool
            ):
                with state.lock:
                    state.rejected.append(f"{call}.{name}")
                return 201, f"{name} tidak valid"
        if refuse:
            return 201, f"Nomor kartu {body['nomorkartu']} tidak aktif"
        key = (body["tanggalperiksa"], body["kodepoli"], body["nomorkartu"])
        with state.lock:
            if call == "add" and key in state.queues:
                return 201, "Antrean sudah ada"
            if call != "add" and key not in state.queues:
                return 201, "Data antrean tidak ditemukan"
            state.queues.add(key)
            state.received.append(Received(call, body))
        return 200, "Ok."

    def _answer(self, code: int, message: str, ts: int) -> None:
        meta_key = "metadata" if code == 201 else "metaData"  # the service uses both
        doc: dict[str, Any] = {meta_key: {"code": code, "message": message}}
        if code == 200:
            doc["response"] = seal_response(json.dumps({"status": "ok"}), CONS_ID, SECRET, ts)
        self._reply(200, json.dumps(doc).encode(), "application/json")

    def _reply(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, state: MockState) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.state = state


class AntreanMock:
    """``with AntreanMock() as m: m.base_url``; ``m.down()`` / ``m.up()`` on the same port."""

    def __init__(self) -> None:
        self.state = MockState()
        self._server: _Server | None = None
        self.port = 0
        self.up()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/antreanfktp"

    def up(self) -> None:
        self._server = _Server(self.port, self.state)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def calls(self) -> list[Received]:
        with self.state.lock:
            return list(self.state.received)

    def __enter__(self) -> AntreanMock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()
