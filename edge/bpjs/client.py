"""HTTP to Antrean FKTP: one signed POST, one classified answer. Owned by the sync thread.

Timeouts, refused connections, HTTP errors and unreadable bodies are all ``RETRY``
answers: only a readable ``metaData`` code decides a call.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from edge.bpjs.calls import Call
from edge.bpjs.config import BpjsConfig
from edge.bpjs.wire import Answer, Outcome, headers, read_answer


class AntreanClient:
    """Sends one call and reads its answer.

    >>> # see tests/test_bpjs_sync.py: a local mock of the service on loopback
    """

    def __init__(self, config: BpjsConfig, *, clock: Callable[[], float] = time.time) -> None:
        self._config = config
        self._clock = clock

    def send(self, call: Call, body: dict[str, Any]) -> Answer:
        creds = self._config.credentials
        ts = int(self._clock())
        request = urllib.request.Request(
            self._config.base_url + call.path,
            data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            headers=headers(creds.cons_id, creds.secret, creds.user_key, ts),
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self._config.timeout_s) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raw = e.read() if e.fp is not None else b""
            answer = read_answer(raw, creds.cons_id, creds.secret, ts)
            if answer.outcome is Outcome.RETRY:
                return Answer(Outcome.RETRY, None, f"HTTP {e.code}")
            return answer
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
            reason = getattr(e, "reason", e)
            return Answer(Outcome.RETRY, None, f"no answer: {reason}")
        return read_answer(raw, creds.cons_id, creds.secret, ts)
