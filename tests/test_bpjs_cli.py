"""``brexit bpjs``: one clear line for every outcome, and the [bpjs] config checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from bpjs_mock import CONS_ID, SECRET, USER_KEY

from edge.bpjs.config import Credentials, write_credentials
from edge.bpjs.store import BpjsStore
from edge.cli import main
from edge.config import ConfigError, load_config
from edge.queue.engine import QueueEngine

DEMO = Path("edge/data/demo.toml").read_text(encoding="utf-8")
BPJS = """
[bpjs]
base_url = "https://apijkn.example/antreanfktp"
credentials_file = "bpjs.toml"
[bpjs.poli.A]
kodepoli = "001"
namapoli = "UMUM"
jampraktek = "08:00-12:00"
"""


def node_file(tmp_path: Path, extra: str = BPJS) -> Path:
    write_credentials(tmp_path / "bpjs.toml", Credentials(CONS_ID, SECRET, USER_KEY))
    path = tmp_path / "node.toml"
    path.write_text(DEMO + extra, encoding="utf-8")
    return path


def test_check_reports_the_poli_and_the_services_not_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bpjs", "check", "--config", str(node_file(tmp_path))]) == 0
    out = capsys.readouterr().out.strip()
    assert out == ("bpjs: ok, 1 poli, https://apijkn.example/antreanfktp; services without"
                   " a poli (not sent): B, C, D")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (BPJS.replace("poli.A]", "poli.Z]"), "bpjs.poli.Z: no service 'Z'"),
        (BPJS.replace('"08:00-12:00"', '"pagi"'), "bpjs.poli.A.jampraktek"),
        (BPJS.replace("https://", "ftp://"), "bpjs.base_url"),
        (BPJS.replace('credentials_file = "bpjs.toml"', 'credentials_file = "no.toml"'),
         "bpjs.credentials_file: cannot read"),
    ],
)
def test_a_bad_bpjs_table_names_the_field(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(node_file(tmp_path, extra))
    assert message in str(err.value)


def test_register_cancel_and_status_on_the_node_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    BpjsStore(data / "queue.db").close()
    QueueEngine(data / "queue.db", load_config(None)).issue("A")
    d = ["--data", str(data)]
    assert main(["bpjs", "register", "A-001", "--kartu", "0001234567890", *d]) == 0
    assert main(["bpjs", "register", "A-001", "--kartu", "0001234567890", *d]) == 2
    assert main(["bpjs", "register", "A-002", "--nik", "12", *d]) == 2
    assert main(["bpjs", "cancel", "A-001", "--alasan", "pasien pulang", *d]) == 0
    assert main(["bpjs", "status", *d]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[-1] == "bpjs: 2 pending, 0 accepted, 0 refused"
    assert err.splitlines() == [
        "brexit bpjs: A-001 is already registered for BPJS",
        "brexit bpjs: the NIK must be 16 digits",
    ]
    assert "0001234567890" not in out + err


def test_a_missing_database_is_one_line(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bpjs", "status", "--data", str(tmp_path / "none")]) == 2
    assert capsys.readouterr().err.startswith("brexit bpjs: no queue database at ")
