"""sd_notify against a real unix datagram socket, as systemd listens on $NOTIFY_SOCKET."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.sdnotify import SdNotify


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(10)
    yield sock
    sock.close()


def env_for(sock: socket.socket, **extra: str) -> dict[str, str]:
    return {"NOTIFY_SOCKET": sock.getsockname(), **extra}


def test_ready_status_stopping_arrive_as_systemd_reads_them(listener: socket.socket) -> None:
    n = SdNotify.from_environment(env_for(listener))
    assert n.ready("janti/kios-1")
    assert listener.recv(4096) == b"READY=1\nSTATUS=janti/kios-1"
    assert n.status("antrean 3") and listener.recv(4096) == b"STATUS=antrean 3"
    assert n.stopping() and listener.recv(4096) == b"STOPPING=1"


def test_abstract_socket_address() -> None:
    name = f"brexit-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(10)
        assert SdNotify.from_environment({"NOTIFY_SOCKET": "@" + name}).watchdog()
        assert sock.recv(4096) == b"WATCHDOG=1"


def test_without_systemd_everything_is_a_no_op() -> None:
    n = SdNotify.from_environment({})
    assert not n.enabled and not n.ready() and not n.watchdog()
    assert n.watchdog_interval() is None


def test_a_gone_socket_is_reported_not_raised(tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    n = SdNotify(str(tmp_path / "gone"))
    assert not n.watchdog() and not n.watchdog()
    assert len([r for r in caplog.records if "sd_notify" in r.message]) == 1


@pytest.mark.parametrize(
    ("env", "interval"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # another process's
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_is_half_of_watchdog_sec(
        listener: socket.socket, env: dict[str, str], interval: float | None) -> None:
    assert SdNotify.from_environment(env_for(listener, **env)).watchdog_interval() == interval


def test_pings_follow_the_probe_and_a_hung_loop_stops_them(listener: socket.socket) -> None:
    """Every WATCHDOG=1 follows a probe that answered; once the probe hangs, none come."""
    n = SdNotify.from_environment(env_for(listener, WATCHDOG_USEC="20000"))  # ping each 10 ms
    stop, hung, release = threading.Event(), threading.Event(), threading.Event()
    answered: list[int] = []

    def probe() -> None:
        if len(answered) == 5:
            hung.set()
            release.wait()  # the node stops answering
        answered.append(1)

    loop = threading.Thread(target=n.keep_alive, args=(stop, probe))
    loop.start()
    pings = [listener.recv(4096) for _ in range(5)]
    assert pings == [b"WATCHDOG=1"] * 5
    assert hung.wait(10)
    listener.settimeout(0.5)  # 50 ping intervals: a live loop would have sent many
    with pytest.raises(TimeoutError):
        listener.recv(4096)
    stop.set()
    release.set()
    loop.join(10)
    assert not loop.is_alive()


def test_node_process_signals_ready_and_pings(tmp_path: Path, listener: socket.socket) -> None:
    """The real `brexit node` (mock pins through gpiozero's own variable) under a fake
    systemd: READY once started, then watchdog pings, STOPPING on SIGTERM."""
    import signal
    import subprocess
    import sys

    env = {**os.environ, "NOTIFY_SOCKET": listener.getsockname(), "WATCHDOG_USEC": "200000",
           "GPIOZERO_PIN_FACTORY": "mock"}
    config = tmp_path / "node.toml"
    config.write_text(
        'site = "janti"\nnode = "kios-1"\nsite_name = "UPT Puskesmas Janti"\n'
        'roles = ["kiosk"]\n[[services]]\ncode = "A"\nname = "Poli Umum"\n'
        "[printer]\nenabled = false\n[embosser]\nenabled = false\n[cells]\nenabled = false\n"
        "[speaker]\nenabled = false\n")
    proc = subprocess.Popen([sys.executable, "-m", "edge.cli", "node", "--config", str(config),
                             "--data", str(tmp_path / "data")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        listener.settimeout(120)
        assert listener.recv(4096) == b"READY=1\nSTATUS=janti/kios-1"
        assert [listener.recv(4096) for _ in range(3)] == [b"WATCHDOG=1"] * 3
        proc.send_signal(signal.SIGTERM)
        while (msg := listener.recv(4096)) == b"WATCHDOG=1":
            pass
        assert msg == b"STOPPING=1"
        assert proc.wait(60) == 0
    finally:
        proc.kill()
        proc.wait()
