"""A plain Mosquitto for benchmarks: loopback, anonymous, no TLS, no persistence, no
queue limit (``max_queued_messages 0``), started fresh on a free port and stopped after.

Benchmarks measure the NCC, not TLS or the ACL plugin; the project's production configs
(``mqtt_config``) are exercised by the broker tests.
"""

from __future__ import annotations

from pathlib import Path

from mqtt_config.process import HOST, BrokerStartError, MosquittoProcess, accepts, free_port


class BenchError(RuntimeError):
    """A benchmark could not run; one line says why."""


def render_conf(port: int, log: Path) -> str:
    """The benchmark broker's mosquitto.conf.

    >>> "max_queued_messages 0" in render_conf(1883, Path("/tmp/m.log"))
    True
    """
    return "\n".join([
        "# brexit ncc bench: a throw-away broker on loopback",
        "per_listener_settings false",
        "allow_anonymous true",
        "persistence false",
        "max_queued_messages 0",
        "max_inflight_messages 0",
        "max_connections -1",
        "set_tcp_nodelay true",
        f"log_dest file {log}",
        "log_type error",
        "log_type warning",
        f"listener {port} {HOST}",
        "",
    ])


class BenchBroker:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.log = root / "mosquitto.log"
        self.conf = root / "mosquitto.conf"
        self._process = MosquittoProcess(self.conf, self.port, self.log)

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self._process.pid

    def start(self) -> BenchBroker:
        self.root.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(render_conf(self.port, self.log), encoding="utf-8")
        try:
            self._process.start()
        except BrokerStartError as e:
            raise BenchError(str(e)) from None
        return self

    def stop(self) -> None:
        self._process.stop()

    def __enter__(self) -> BenchBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["HOST", "BenchBroker", "BenchError", "accepts", "free_port", "render_conf"]
