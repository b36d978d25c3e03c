"""The node's storage guard: a full or failing disk is shown, raised and survived.

When the queue database cannot be written (``StorageError``), the guard

- frees a small reserve file kept in the data directory, so the fault itself (and the
  patient's apology, in simulation a WAV file) can still be written;
- shows a ``storage`` fault in health (state, free bytes, the error);
- stores a ``device.fault`` event for the NCC as soon as it can be stored (events that could
  not be stored wait here, in memory, in order);
- and, on every ``tick``, checks whether space has returned: then it makes the reserve
  again, stores what waited and ``device.recovered``, and the fault clears by itself.

A damaged database (found at start, or while running: ``StorageError.damaged``) is not a
fault the guard waits out: the engine has already moved it aside, goes on with a fresh one
and stored ``device.fault`` (storage, damaged) there for the NCC. The guard shows it in
health as ``damaged`` (the engine's one-line message as ``error``, ``moved_aside``) until
the node restarts, and tells the node once per damaged file (``on_change``). No
``device.recovered`` follows: the NCC's alarm waits for a person, the card may be failing.

>>> # see tests/test_storage_faults.py: a real tmpfs filled up and freed again
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from edge.queue.db import FILE_MODE
from edge.queue.engine import QueueEngine
from edge.queue.models import StorageError

log = logging.getLogger(__name__)

RESERVE_NAME = ".reserve"
RESERVE_BYTES = 2 * 1024 * 1024  # room for a fault event and an apology when the disk fills
RECOVER_MARGIN_BYTES = 512 * 1024  # free space beyond the reserve that counts as recovered


class StorageState(StrEnum):
    OK = "ok"
    FULL = "full"  # no space left
    ERROR = "error"  # the database cannot be opened or written for another reason
    DAMAGED = "damaged"  # a damaged database was moved aside; the node goes on with a fresh one


@dataclass(frozen=True)
class StorageHealth:
    """The ``storage`` object of the node's health."""

    state: StorageState
    free_bytes: int | None
    error: str | None
    moved_aside: str | None = None  # the damaged database moved aside (since the start)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state.value, "free_bytes": self.free_bytes,
                               "error": self.error}
        if self.moved_aside is not None:
            out["moved_aside"] = self.moved_aside
        return out


def free_bytes(path: Path) -> int | None:
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


class Reserve:
    """A preallocated file freed when the disk is full, made again when space returns."""

    def __init__(self, path: Path, size: int = RESERVE_BYTES) -> None:
        self.path = path
        self.size = size

    def make(self) -> bool:
        """Allocate the reserve (idempotent); False when there is no room for it."""
        try:
            if self.path.exists() and self.path.stat().st_size >= self.size:
                return True
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
            try:
                os.posix_fallocate(fd, 0, self.size)
            finally:
                os.close(fd)
        except OSError as e:
            log.info("storage: no room for the reserve file: %s", e)
            self.release()
            return False
        return True

    def release(self) -> bool:
        """Free the reserve; True when there was one."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        except OSError as e:
            log.warning("storage: cannot free the reserve file: %s", e)
            return False
        return True


class StorageGuard:
    """Watches the queue database's writes for the node; thread-safe.

    ``on_change(fault_or_none)`` is called after the fault starts or clears (the node tells
    the patient, the LEDs and the MQTT link); ``on_stored()`` after events that waited were
    stored by a ``tick`` (the MQTT link publishes them).
    """

    def __init__(
        self, engine: QueueEngine, data_dir: Path, *,
        on_change: Callable[[StorageHealth | None], None] = lambda _: None,
        on_stored: Callable[[], None] = lambda: None,
        reserve_bytes: int = RESERVE_BYTES,
    ) -> None:
        self._engine = engine
        self._dir = data_dir
        self._reserve = Reserve(data_dir / RESERVE_NAME, reserve_bytes)
        self._on_change = on_change
        self._on_stored = on_stored
        self._lock = threading.RLock()
        self._fault: StorageError | None = None
        self._pending: list[tuple[str, dict[str, Any]]] = []
        self._damage = engine.damage  # told at start by ``brexit node``'s stderr line

    def start(self) -> StorageGuard:
        """Make the reserve; take up a failure the engine already met when opening."""
        if self._engine.storage_error is not None:
            self.failed(self._engine.storage_error)
        else:
            self._reserve.make()
        return self

    # --- what the roles report -----------------------------------------------------------

    @property
    def faulty(self) -> bool:
        with self._lock:
            return self._fault is not None

    def failed(self, error: StorageError) -> None:
        """A write failed: fault on (once), free the reserve, keep the fault for the NCC.

        A damaged database the engine has already replaced is shown instead (see above)."""
        if error.damaged:
            self._damage_found()
            return
        with self._lock:
            if self._fault is not None:
                self._fault = error
                return
            self._fault = error
            self._reserve.release()
            log.error("storage: %s (free %s bytes)", error, free_bytes(self._dir))
            self._pending.append(("device.fault", self._fault_data(error)))
            self._flush()
            health = self.health()
        self._on_change(health)

    def succeeded(self) -> None:
        """A write just committed: if faulty, see whether the disk has room again."""
        self.tick()

    def record(self, type_: str, data: dict[str, Any]) -> bool:
        """Store an event now, or keep it until storage works; True when stored now."""
        with self._lock:
            if self._fault is not None:
                self._pending.append((type_, data))
                return self._flush()
            try:
                self._engine.record(type_, data)
                return True
            except StorageError as e:
                self._pending.append((type_, data))
                error = e
        self.failed(error)
        return False

    def tick(self) -> None:
        """Called now and then (the node's router): recover when space has returned; show a
        damaged database the engine met in any action (a display's read too)."""
        self._damage_found()
        with self._lock:
            fault = self._fault
            if fault is None:
                return
            room = not fault.full or self._has_room()
            stored = False if room else self._flush_some()
        if room:
            self._recover()
        elif stored:
            self._on_stored()

    # --- health ---------------------------------------------------------------------------

    def health(self) -> StorageHealth:
        with self._lock:
            fault = self._fault
            damage = self._damage
        if fault is not None:
            state = StorageState.FULL if fault.full else StorageState.ERROR
            error: str | None = str(fault)
        elif damage is not None:
            state, error = StorageState.DAMAGED, damage.message()
        else:
            state, error = StorageState.OK, None
        moved = damage.moved_to.name if damage is not None else None
        return StorageHealth(state, free_bytes(self._dir), error, moved)

    # --- inside -----------------------------------------------------------------------------

    def _damage_found(self) -> None:
        """Tell the node (once) about a damaged database the engine has moved aside."""
        with self._lock:
            damage = self._engine.damage
            if damage is None or damage is self._damage:
                return
            self._damage = damage
            health = self.health()
        self._on_change(health)

    def _fault_data(self, error: StorageError) -> dict[str, Any]:
        state = StorageState.FULL if error.full else StorageState.ERROR
        free = free_bytes(self._dir)
        return {"device": "storage", "state": state.value,
                "detail": f"{error} (free {free} bytes)"}

    def _has_room(self) -> bool:
        return (free_bytes(self._dir) or 0) >= self._reserve.size + RECOVER_MARGIN_BYTES

    def _flush_some(self) -> bool:
        """Flush; True when at least one waiting event was stored."""
        waiting = len(self._pending)
        self._flush()
        return len(self._pending) < waiting

    def _flush(self) -> bool:
        """Store the waiting events in order; stop at the first that cannot be stored."""
        while self._pending:
            type_, data = self._pending[0]
            try:
                self._engine.record(type_, data)
            except StorageError as e:
                log.debug("storage: %s still waits: %s", type_, e)
                return False
            self._pending.pop(0)
        return True

    def _recover(self) -> None:
        with self._lock:
            if self._fault is None:
                return
            self._reserve.make()
            self._pending.append(("device.recovered", {"device": "storage", "state": "ok"}))
            if not self._flush():
                self._pending.pop()  # still failing: the fault stays
                return
            self._fault = None
            log.warning("storage: writable again (free %s bytes)", free_bytes(self._dir))
        self._on_change(None)
