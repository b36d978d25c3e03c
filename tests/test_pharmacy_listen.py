"""Where the pharmacy form listens: loopback only under ``--simulate`` (it has a demo
login), the configured address on a real node."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from edge.pharmacy.serve import form_listen

EXAMPLE = Path(__file__).parent.parent / "deploy" / "examples" / "janti-farmasi-1.toml"


def listening_hosts(port: int) -> set[str]:
    """Local addresses (hex, as the kernel writes them) of sockets listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            host, _, hex_port = local.rpartition(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(host)
    return found


def test_simulated_pharmacy_form_listens_on_loopback_only(tmp_path: Path) -> None:
    """Was: 0.0.0.0 (the default listen) with the demo login, reachable from the LAN."""
    config = tmp_path / "farmasi.toml"
    text = EXAMPLE.read_text(encoding="utf-8")
    assert 'listen = "0.0.0.0:8080"' in text
    config.write_text(text.replace('listen = "0.0.0.0:8080"', 'listen = "0.0.0.0:0"'),
                      encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "node", "--simulate", "--config", str(config),
         "--data", str(tmp_path / "data")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None and proc.stdin is not None
        first = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:(\d+)/", first)
        assert url is not None, first
        assert "loopback only" in first and "--simulate" in first
        assert listening_hosts(int(url.group(1))) == {"0100007F"}
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        assert proc.wait(60) == 0
    finally:
        proc.kill()
        proc.wait(10)


@pytest.mark.parametrize(("listen", "simulate", "expected"), [
    (("0.0.0.0", 8080), True, ("127.0.0.1", 8080)),
    (("192.0.2.10", 8081), True, ("127.0.0.1", 8081)),
    (("::", 8080), True, ("127.0.0.1", 8080)),
    (("127.0.0.1", 0), True, ("127.0.0.1", 0)),
    (("::1", 8080), True, ("::1", 8080)),
    (("localhost", 8080), True, ("localhost", 8080)),
    (("0.0.0.0", 8080), False, ("0.0.0.0", 8080)),
    (("192.0.2.10", 8081), False, ("192.0.2.10", 8081)),
])
def test_form_listen(listen: tuple[str, int], simulate: bool,
                     expected: tuple[str, int]) -> None:
    assert form_listen(listen, simulate=simulate) == expected
