"""The speech worker: one thread owns the speech engine; callers only enqueue.

Accessibility behaviour (EN 301 549 §5.1.3), per *channel* ("kiosk", "counter-2"…):
- a new ``say`` (or ``repeat``) on a channel interrupts what that channel is saying and
  drops its queued utterances; other channels are not touched;
- ``repeat(channel)`` says the channel's last utterance again;
- ``volume_up(channel)`` raises that channel's volume; it returns to the base volume by
  ``reset_volume(channel)`` or by itself when the channel's next action comes after
  ``idle_reset_s`` without any (the next patient starts at the normal volume).
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from edge.closing import Closing
from edge.devices.state import DeviceError, DeviceState
from edge.speech.backends import SpeechBackend, Utterance

log = logging.getLogger(__name__)

CHANNEL_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")


class Outcome(StrEnum):
    """What became of one utterance."""

    SPOKEN = "spoken"
    INTERRUPTED = "interrupted"  # cut short by a newer action on its channel
    DROPPED = "dropped"  # replaced while still queued, never started
    FAILED = "failed"  # the engine could not start or speak


@dataclass(frozen=True)
class Spoken:
    """One entry of the worker's history.

    >>> Spoken(Utterance("Halo"), Outcome.SPOKEN, at=12.5).utterance.channel
    'kiosk'
    """

    utterance: Utterance
    outcome: Outcome
    at: float  # worker clock when the worker took it up
    error: str | None = None


@dataclass
class _Channel:
    volume: float
    cancel: threading.Event = field(default_factory=threading.Event)
    last: Utterance | None = None
    last_action: float | None = None


@dataclass(frozen=True)
class _Item:
    utterance: Utterance
    cancel: threading.Event


class SpeechWorker(Closing):
    """Owns a speech back-end on its own thread.

    >>> from edge.speech.backends import WavBackend
    >>> with SpeechWorker(WavBackend("/tmp/brexit-speech")) as speech:
    ...     speech.say("Nomor antrean A dua belas, silakan menuju loket dua.",
    ...                channel="counter-2", chime=True)
    ...     speech.wait_idle(10)
    True
    """

    def __init__(
        self,
        backend: SpeechBackend,
        *,
        volume: float = 1.0,
        volume_step: float = 0.25,
        max_volume: float = 2.0,
        idle_reset_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        on_spoken: Callable[[Spoken], None] | None = None,
    ) -> None:
        self.backend = backend
        self.base_volume = volume
        self.volume_step = volume_step
        self.max_volume = max_volume
        self.idle_reset_s = idle_reset_s
        self._clock = clock
        self._on_spoken = on_spoken
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._channels: dict[str, _Channel] = {}
        self._spoken: list[Spoken] = []
        self._pending = 0
        self._state = DeviceState.OK
        self._error: str | None = None
        self._opened = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="speech", daemon=True)

    # --- caller side: never blocks -------------------------------------------------------

    def start(self) -> SpeechWorker:
        self._thread.start()
        return self

    def say(self, text: str, *, channel: str = "kiosk", chime: bool = False) -> None:
        """Queue ``text``; interrupts and replaces whatever ``channel`` is saying."""
        if not CHANNEL_RE.fullmatch(channel):
            raise ValueError(f"bad speech channel {channel!r}")
        with self._lock:
            if self._closed:
                raise RuntimeError("speech worker is closed")
            ch = self._touch(channel)
            ch.cancel.set()
            ch.cancel = threading.Event()
            ch.last = Utterance(text, channel, chime, ch.volume)
            self._pending += 1
            self._queue.put(_Item(ch.last, ch.cancel))

    def repeat(self, channel: str = "kiosk") -> bool:
        """Say the channel's last utterance again (at today's volume); False if none."""
        with self._lock:
            ch = self._channels.get(channel)
            last = ch.last if ch else None
        if last is None:
            return False
        self.say(last.text, channel=channel, chime=last.chime)
        return True

    def volume_up(self, channel: str = "kiosk") -> float:
        """Raise the channel's volume one step (up to ``max_volume``); returns it."""
        with self._lock:
            ch = self._touch(channel)
            ch.volume = min(self.max_volume, round(ch.volume + self.volume_step, 6))
            return ch.volume

    def reset_volume(self, channel: str = "kiosk") -> None:
        with self._lock:
            self._touch(channel).volume = self.base_volume

    def volume(self, channel: str = "kiosk") -> float:
        with self._lock:
            ch = self._channels.get(channel)
            return ch.volume if ch else self.base_volume

    def state(self) -> DeviceState:
        """ERROR while the engine cannot start or speak, else OK."""
        with self._lock:
            return self._state

    @property
    def error(self) -> str | None:
        """Why the state is ERROR (None when OK)."""
        with self._lock:
            return self._error

    @property
    def spoken(self) -> tuple[Spoken, ...]:
        """Everything the worker has taken up, oldest first."""
        with self._lock:
            return tuple(self._spoken)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every queued utterance is done; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Interrupt everything, stop the thread, release the engine."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for ch in self._channels.values():
                ch.cancel.set()
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("speech thread did not stop within %.1f s", timeout)

    def __enter__(self) -> SpeechWorker:
        return self.start()

    def _touch(self, channel: str) -> _Channel:
        """The channel, its volume reset if it sat idle; marks an action now (lock held)."""
        now = self._clock()
        ch = self._channels.setdefault(channel, _Channel(self.base_volume))
        if ch.last_action is not None and now - ch.last_action >= self.idle_reset_s:
            ch.volume = self.base_volume
        ch.last_action = now
        return ch

    # --- worker thread: owns the back-end ------------------------------------------------

    def _run(self) -> None:
        self._open()
        while (item := self._queue.get()) is not None:
            self._handle(item)
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()
        if self._opened:
            self._guard(self.backend.close)

    def _open(self) -> bool:
        if not self._opened:
            self._opened = self._guard(self.backend.open)
        return self._opened

    def _handle(self, item: _Item) -> None:
        at = self._clock()
        if item.cancel.is_set():
            self._record(Spoken(item.utterance, Outcome.DROPPED, at))
            return
        finished: list[bool] = []
        ok = self._open() and self._guard(
            lambda: finished.append(self.backend.speak(item.utterance, item.cancel))
        )
        if not ok:
            self._record(Spoken(item.utterance, Outcome.FAILED, at, self.error))
        elif finished == [True]:
            self._record(Spoken(item.utterance, Outcome.SPOKEN, at))
        else:
            self._record(Spoken(item.utterance, Outcome.INTERRUPTED, at))

    def _guard(self, action: Callable[[], object]) -> bool:
        """Run a back-end call; any failure sets ERROR instead of killing the thread."""
        try:
            action()
        except Exception as exc:  # the thread must outlive any engine failure
            reason = str(exc) or type(exc).__name__
            log.error("speech: %s", reason, exc_info=not isinstance(exc, DeviceError))
            with self._lock:
                self._state, self._error = DeviceState.ERROR, reason
            return False
        with self._lock:
            self._state, self._error = DeviceState.OK, None
        return True

    def _record(self, entry: Spoken) -> None:
        with self._lock:
            self._spoken.append(entry)
        if self._on_spoken is not None:
            try:
                self._on_spoken(entry)
            except Exception:
                log.exception("speech: on_spoken callback failed")
