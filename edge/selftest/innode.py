"""The self-test inside a running node: the MQTT ``selftest`` command, or the kiosk gesture
(hold ``repeat`` and ``help`` together for 5 s, then let go).

The node owns its devices, so ``NodeRig`` hands each check to the device's own worker
thread, speaks on the node's speech worker (channel ``selftest``), and takes button presses
from the node's press router only while it waits for one (``NodeSelftest.intercept``: a
patient's press at any other moment is a patient's press). The run has its own thread, so
the command's reply is immediate; the result is spoken, printed, written to
``DATA/selftest.txt`` and published as a ``selftest`` event.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from edge.cells.display import CellsDisplay
from edge.cells.driver import CellsDriver
from edge.devices.debounce import ButtonEvent, ButtonEventKind
from edge.devices.embosser import Embosser
from edge.devices.printer import TicketPrinter
from edge.devices.state import DeviceError, DeviceState
from edge.devices.worker import Driver, OutputWorker
from edge.labels.buttons import ButtonLabel
from edge.node_actions import CommandError
from edge.selftest.devices import Press
from edge.selftest.gesture import HoldGesture
from edge.selftest.run import EVENT_TYPE, Options, run_selftest
from edge.speech.worker import Outcome

if TYPE_CHECKING:
    from edge.node import Node

log = logging.getLogger(__name__)
R = TypeVar("R")
CHANNEL = "selftest"
JOB_TIMEOUT_S = 60.0


class NodeRig:
    """The running node's devices, reached through the threads that own them."""

    def __init__(self, node: Node, cancel: threading.Event) -> None:
        self.config = node.config
        self._node = node
        self._cancel = cancel
        self._presses: queue.Queue[ButtonEvent] = queue.Queue()
        self._waiting = threading.Event()
        self.awaited: str | None = None  # the button asked for, while waiting for it

    def say(self, text: str) -> bool:
        speech = self._node.ctx.speech
        speech.say(text, channel=CHANNEL)
        if not wait_for(speech.wait_idle, self._cancel):
            return False
        mine = [s for s in speech.spoken if s.utterance.channel == CHANNEL]
        return bool(mine) and mine[-1].outcome is Outcome.SPOKEN

    # --- buttons: only while waiting for one ------------------------------------------------

    def open_buttons(self, buttons: Iterable[ButtonLabel]) -> str | None:
        boards = {"kiosk": self._node.kiosk, "counter": self._node.caller}
        missing = sorted({b.board for b in buttons if boards.get(b.board) is None})
        return f"no {missing[0]} board" if missing else None

    def offer(self, event: ButtonEvent) -> bool:
        """From the press router: True when the self-test takes this event."""
        if not self._waiting.is_set():
            return False
        self._presses.put(event)
        return True

    def wait_press(self, button: str, timeout_s: float) -> Press:
        self._presses = queue.Queue()
        self._waiting.set()
        self.awaited = button
        try:
            return self._collect(button, time.monotonic() + timeout_s)
        finally:
            self.awaited = None
            self._waiting.clear()

    def _collect(self, button: str, deadline: float) -> Press:
        others: list[str] = []
        while (left := deadline - time.monotonic()) > 0 and not self._cancel.is_set():
            try:
                event = self._presses.get(timeout=min(left, 0.2))
            except queue.Empty:
                continue
            if event.kind is ButtonEventKind.PRESSED:
                if event.name == button:
                    return Press(True, tuple(others))
                others.append(event.name)
        return Press(False, tuple(others))

    # --- devices, on their workers ----------------------------------------------------------

    def with_printer(self, job: Callable[[TicketPrinter], R]) -> R | None:
        return on_worker(self._node.ctx.printer, job, self._cancel)

    def with_embosser(self, job: Callable[[Embosser], R]) -> R | None:
        return on_worker(self._node.ctx.embosser, job, self._cancel)

    def with_cells(self, job: Callable[[CellsDriver], R]) -> R | None:
        """The job, then what the cells showed before it (the display shows a text only
        when it changes, so the test pattern would otherwise stay)."""
        cells = self._node.ctx.cells
        if not isinstance(cells, CellsDisplay):
            return None
        shown, (page, _) = cells.text, cells.page

        def job_then_restore(driver: CellsDriver) -> R:
            try:
                return job(driver)
            finally:
                with contextlib.suppress(DeviceError, ValueError):
                    driver.show(shown, page)

        return on_worker(cells.worker, job_then_restore, self._cancel)


def wait_for(done: Callable[[float], bool], cancel: threading.Event | None) -> bool:
    """``done(timeout)`` in short slices, up to JOB_TIMEOUT_S; False at once when the
    self-test is cancelled (the node is stopping and its workers are closing)."""
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while not done(0.2):
        if (cancel is not None and cancel.is_set()) or time.monotonic() > deadline:
            return False
    return True


def on_worker(
    worker: OutputWorker | None, job: Callable[[Any], R], cancel: threading.Event | None = None
) -> R | None:
    """Run ``job`` on ``worker``'s thread and wait for it; None when there is no worker,
    DeviceError (offline) when the job could not run (the driver would not open).

    A device the job found faulty is raised to the worker afterwards, so the node's health,
    its fault LED and a ``device.fault`` event show it, as after a patient's ticket.
    """
    if worker is None:
        return None
    box: list[R] = []

    def run(driver: Driver) -> None:
        box.append(job(driver))
        state = driver.state()
        if state is not DeviceState.OK:
            raise DeviceError(f"{worker.name}: self-test found it {state.value}", state)

    worker.submit(run, label="selftest")
    wait_for(worker.drain, cancel)
    if not box:
        raise DeviceError(f"{worker.name}: the self-test could not reach it",
                          DeviceState.OFFLINE)
    return box[0]


class NodeSelftest:
    """Starts self-tests in a running node, one at a time."""

    def __init__(self, node: Node, *, button_timeout_s: float = 15.0) -> None:
        self.button_timeout_s = button_timeout_s
        self._node = node
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._rig: NodeRig | None = None
        self._thread: threading.Thread | None = None
        self._gesture = HoldGesture()

    def start(self, trigger: str) -> dict[str, Any]:
        with self._lock:
            if self.running:
                raise CommandError("a self-test is already running")
            self._rig = NodeRig(self._node, self._cancel)
            thread = threading.Thread(target=self._run, args=(self._rig, trigger),
                                      name="selftest", daemon=True)
            thread.start()
            self._thread = thread  # only a started thread is ever seen by wait()
        return {"started": True, "trigger": trigger}

    def intercept(self, event: ButtonEvent) -> bool:
        """Called by the press router for every event; True when the self-test took it."""
        rig = self._rig
        if rig is not None and rig.offer(event):
            return True
        if self._node.kiosk is not None and self._gesture.feed(event):
            with contextlib.suppress(CommandError):  # one is running already
                self.start("kiosk")
        return False

    @property
    def awaited(self) -> str | None:
        """The button the running self-test asks for right now, if any."""
        rig = self._rig
        return None if rig is None else rig.awaited

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def wait(self, timeout_s: float) -> bool:
        """Block until no self-test runs (for tests and shutdown); False on timeout."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)
        return thread is None or not thread.is_alive()

    def close(self) -> None:
        self._cancel.set()

    def _run(self, rig: NodeRig, trigger: str) -> None:
        node = self._node
        opts = Options(data_dir=node.data_dir, report=node.data_dir / "selftest.txt",
                       trigger=trigger, button_timeout_s=self.button_timeout_s,
                       ask_buttons=trigger != "command")
        try:
            outcome = run_selftest(rig, opts, record=self._record)
            node.ctx.emit("selftest", failed=outcome.failed)
        except Exception:  # a bug here must not take the node down; it is still told
            if self._cancel.is_set():  # the node stopped under it: nobody left to tell
                log.info("selftest stopped with the node")
                return
            log.exception("selftest failed")
            with contextlib.suppress(RuntimeError):  # the speech worker closed meanwhile
                node.ctx.speech.say("Uji mandiri gagal berjalan.", channel=CHANNEL)
        finally:
            self._rig = None

    def _record(self, data: dict[str, Any]) -> None:
        self._node.ctx.engine.record(EVENT_TYPE, data)
        self._node.ctx.notifier.notify_event()
