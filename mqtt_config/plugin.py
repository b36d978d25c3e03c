"""Build the client-id plugin (``clientid_plugin.c``) for the Mosquitto on this machine.

The plugin is C because Mosquitto loads only shared libraries; it is compiled where the
broker runs (a Pi's architecture differs from the laptop's) against Debian's
``mosquitto-dev`` headers, by ``brexit broker plugin --out DIR`` (setup.sh does it).

>>> SOURCE.name
'clientid_plugin.c'
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from importlib.resources import files
from pathlib import Path

from mqtt_config.pki import ToolError

SOURCE = Path(str(files("mqtt_config") / "clientid_plugin.c"))
LIBRARY = "mosquitto_brexit_clientid.so"
HEADERS = "mosquitto-dev libmosquitto-dev"


def build_plugin(out: Path, source: Path = SOURCE) -> Path:
    """Compile the plugin into ``out/mosquitto_brexit_clientid.so`` and return its path.

    The library is written beside and then renamed, so a running broker never loads half
    a file.
    """
    cc = shutil.which(os.environ.get("CC", "cc"))
    if cc is None:
        raise ToolError(f"cc: not found on PATH (Debian: build-essential {HEADERS})")
    out.mkdir(parents=True, exist_ok=True)
    target = out / LIBRARY
    fd, tmp_name = tempfile.mkstemp(prefix=".build-", suffix=".so", dir=out)
    os.close(fd)
    done = subprocess.run(
        [cc, "-shared", "-fPIC", "-O2", "-Wall", "-o", tmp_name, str(source)],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        Path(tmp_name).unlink(missing_ok=True)
        first = (done.stderr.strip().splitlines() or [str(done.returncode)])[0]
        raise ToolError(f"cc: cannot build the client-id plugin (Debian: {HEADERS}): {first}")
    os.chmod(tmp_name, 0o755)
    os.replace(tmp_name, target)
    return target
