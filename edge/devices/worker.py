"""One thread owns one output device; everyone else hands it jobs through a queue.

A job is a function of the driver (``lambda printer: printer.print_ticket(view)``). A job
that fails is retried a few times, then dropped and counted: the ticket already exists
and the patient has already heard it, so a device fault never blocks the press path.
State changes are reported through ``on_state`` (for health, the fault LED and the
``device.fault`` / ``device.recovered`` events).

Life cycle (as gpiozero's devices): ``close()`` is idempotent; every job submitted before
it still runs; ``submit()`` after it raises ``WorkerClosed`` (a ``DeviceError``, state
offline) and reports the device offline through ``on_state`` once, so the caller's
apology and the node's fault are never skipped and no job waits forever.

>>> class Lamp:
...     def __init__(self): self.lit = []
...     def light(self, n): self.lit.append(n)
...     def state(self): return DeviceState.OK
...     def close(self): pass
>>> lamp = Lamp()
>>> with OutputWorker("lamp", lambda: lamp) as w:
...     w.submit(lambda d: d.light(1), label="one")
...     _ = w.drain()
>>> lamp.lit
[1]
>>> w.submit(lambda d: d.light(2), label="two")  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
...
edge.devices.worker.WorkerClosed: lamp: the worker is closed; two not done
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from edge.closing import Closing
from edge.devices.state import DeviceError, DeviceState

log = logging.getLogger(__name__)


class Driver(Protocol):
    def state(self) -> DeviceState: ...

    def close(self) -> None: ...


class WorkerClosed(DeviceError):
    """The worker was closed: the job was refused, not queued."""

    def __init__(self, message: str) -> None:
        super().__init__(message, DeviceState.OFFLINE)


Job = Callable[[Any], None]
StateCallback = Callable[[str, DeviceState, str], None]


@dataclass(frozen=True)
class _Work:
    job: Job
    label: str
    submitted: float


class OutputWorker(Closing):
    """Owns the driver that ``opener`` makes; runs submitted jobs in order."""

    def __init__(
        self,
        name: str,
        opener: Callable[[], Driver],
        *,
        on_state: StateCallback | None = None,
        retries: int = 2,
        retry_delay_s: float = 0.5,
        probe_interval_s: float = 10.0,
    ) -> None:
        self.name = name
        self._opener = opener
        self._on_state = on_state
        self._retries = retries
        self._retry_delay_s = retry_delay_s
        self._probe_interval_s = probe_interval_s
        self._jobs: queue.Queue[_Work | None] = queue.Queue()
        self._driver: Driver | None = None
        self._state = DeviceState.OK
        self.done = 0
        self.failed = 0
        self._idle = threading.Event()
        self._idle.set()
        self._lock = threading.Lock()  # submit against close
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"{name}-worker", daemon=True)
        self._thread.start()

    def submit(self, job: Job, *, label: str) -> None:
        """Queue ``job``; returns at once. Raises ``WorkerClosed`` after ``close()``."""
        with self._lock:
            if not self._closed:
                self._idle.clear()
                self._jobs.put(_Work(job, label, time.monotonic()))
                return
        self._refuse(label)

    def state(self) -> DeviceState:
        return self._state

    def drain(self, timeout_s: float = 30.0) -> bool:
        """Wait until every submitted job has run (or failed)."""
        return self._idle.wait(timeout_s)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._jobs.put(None)
        self._thread.join(timeout=10)

    def _refuse(self, label: str) -> None:
        error = WorkerClosed(f"{self.name}: the worker is closed; {label} not done")
        log.error("%s", error)
        with self._lock:  # the owning thread has stopped: only refusals change the state
            known = self._state is DeviceState.OFFLINE
            self._state = DeviceState.OFFLINE
        if not known and self._on_state is not None:
            self._on_state(self.name, DeviceState.OFFLINE, str(error))
        raise error

    # --- the owning thread ------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                work = self._jobs.get(timeout=self._probe_interval_s)
            except queue.Empty:
                self._probe()
                continue
            if work is None:
                break
            self._attempt(work)
            if self._jobs.empty():
                self._idle.set()
        self._release()
        self._idle.set()

    def _attempt(self, work: _Work) -> None:
        for attempt in range(self._retries + 1):
            try:
                work.job(self._open())
            except DeviceError as e:
                self._set_state(e.state, str(e))
                self._release()
                if attempt < self._retries and e.state is not DeviceState.PAPER_OUT:
                    time.sleep(self._retry_delay_s)
                    continue
                self.failed += 1
                log.warning("%s: %s dropped: %s", self.name, work.label, e)
                return
            except Exception as e:  # a driver bug must not kill the owning thread
                log.exception("%s: %s failed", self.name, work.label)
                self._set_state(DeviceState.ERROR, f"{type(e).__name__}: {e}")
                self._release()
                self.failed += 1
                return
            else:
                self.done += 1
                self._set_state(DeviceState.OK, "")
                return

    def _probe(self) -> None:
        """While faulty and idle, ask the device whether it has recovered."""
        if self._state is DeviceState.OK:
            return
        try:
            driver = self._open()
            # a driver whose state() only reports the last job offers check() to ask now
            state = getattr(driver, "check", driver.state)()
        except DeviceError as e:
            state = e.state
            self._release()
        except Exception:
            log.exception("%s: probe failed", self.name)
            state = DeviceState.ERROR
            self._release()
        self._set_state(state, "")

    def _open(self) -> Driver:
        if self._driver is None:
            try:
                self._driver = self._opener()
            except DeviceError:
                raise
            except Exception as e:  # a missing port, permissions…
                raise DeviceError(f"cannot open: {e}", DeviceState.OFFLINE) from e
        return self._driver

    def _release(self) -> None:
        if self._driver is not None:
            try:
                self._driver.close()
            except Exception:
                log.debug("%s: close failed", self.name, exc_info=True)
            self._driver = None

    def _set_state(self, state: DeviceState, detail: str) -> None:
        if state is self._state:
            return
        self._state = state
        if self._on_state is not None:
            self._on_state(self.name, state, detail)
