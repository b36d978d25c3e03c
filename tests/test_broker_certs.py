"""Certificates do not expire silently (issue 7, item 8): days left in the node's health,
a warning 30 days ahead, and `brexit broker renew` replacing only the server certificate."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from brokers import Address, BrokerPair, MqttProbe, refused, wait_until

from contract.schemas import Schemas
from edge.mqtt.health import certificates
from mqtt_config import certs, pki
from mqtt_config import cli as broker_cli
from mqtt_config.bundle import BundleLayout

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("notAfter=Mar  4 12:00:00 2029 GMT", datetime(2029, 3, 4, 12, tzinfo=UTC)),
     ("notAfter=Dec 31 23:59:59 2026 GMT\n", datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)),
     ("Jan 10 00:00:00 2027 GMT", datetime(2027, 1, 10, tzinfo=UTC))],  # ssl.getpeercert()
)
def test_openssl_dates(text: str, expected: datetime) -> None:
    assert certs.parse_not_after(text) == expected


@pytest.mark.parametrize("text", ["", "notAfter=", "notAfter=2029-03-04", "notBefore=x"])
def test_bad_dates_are_an_error(text: str) -> None:
    with pytest.raises(certs.CertError):
        certs.parse_not_after(text)


@pytest.mark.parametrize(
    ("left", "days", "state"),
    [(timedelta(days=825), 825, "ok"), (timedelta(days=30), 30, "ok"),
     (timedelta(days=29, hours=23), 29, "warning"), (timedelta(hours=1), 0, "warning"),
     (timedelta(seconds=-1), -1, "expired"), (timedelta(days=-400), -400, "expired")],
)
def test_days_left_and_state(left: timedelta, days: int, state: str) -> None:
    status = certs.status("ca", NOW + left, NOW)
    assert (status.days_left, status.state.value) == (days, state)


def test_health_reports_each_certificate_file(tmp_path: Path) -> None:
    ca = pki.make_ca(tmp_path / "ca")
    soon = pki.make_server_cert(ca, tmp_path / "soon", ["localhost"], days=10)
    (tmp_path / "junk.crt").write_text("not a certificate\n", encoding="utf-8")
    got = certificates({"ca": ca.cert, "client": soon.cert, "broken": tmp_path / "junk.crt",
                        "gone": tmp_path / "gone.crt"})
    assert [(c["name"], c["state"]) for c in got] == [
        ("ca", "ok"), ("client", "warning"), ("broken", "error"), ("gone", "error")]
    assert got[0]["days_left"] in (3649, 3650) and got[1]["days_left"] in (9, 10)
    assert "junk.crt" in got[2]["error"] and "gone.crt" in got[3]["error"]
    later = certificates({"client": soon.cert}, now=datetime.now(UTC) + timedelta(days=11))
    assert later[0]["state"] == "expired"
    health = {"ts": "2026-11-30T08:00:00+07:00", "version": "1", "session": 1,
              "system": {"cpu_temp_c": None, "disk_free_bytes": 1, "disk_total_bytes": 2,
                         "disk_used_pct": 50.0, "mem_available_bytes": None,
                         "mem_total_bytes": None, "uptime_s": None, "clock_synced": None},
              "outbox": {"backlog": 0, "acked_seq": 0, "last_seq": 0, "warn_above": 1,
                         "warning": False},
              "certificates": got + later}
    assert Schemas.load().errors("health", health) == []


def _bundle_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in ("server.crt", "server.key")}


def _verifies(ca: Path, cert: Path) -> bool:
    done = subprocess.run(["openssl", "verify", "-CAfile", str(ca), str(cert)],
                          capture_output=True, text=True, check=False)
    return done.returncode == 0


def test_renew_replaces_only_the_server_certificate(
    broker_pair: BrokerPair, capsys: pytest.CaptureFixture[str]
) -> None:
    p = broker_pair
    layout = BundleLayout(p.site_dir)
    cert, key = p.site_dir / "server.crt", p.site_dir / "server.key"
    before, old_cert, old_key = _bundle_files(p.site_dir), cert.read_bytes(), key.read_bytes()
    names = certs.subject_alt_names(cert)
    assert broker_cli.run(["renew", "--bundle", str(p.site_dir), "--ca", str(p.ca_file.parent)])\
        == 0
    assert "renewed" in capsys.readouterr().out
    assert _bundle_files(p.site_dir) == before  # passwords, ACL, client ids, CA, config
    assert layout.ca_cert.read_bytes() == p.ca_file.read_bytes()
    assert cert.read_bytes() != old_cert and key.read_bytes() != old_key
    assert certs.subject_alt_names(cert) == names == ["localhost", "127.0.0.1"]
    assert _verifies(p.ca_file, cert)
    with MqttProbe(p.site_lan, p.node()) as kiosk:
        p.site_broker.reload()  # SIGHUP: the new certificate, no restart, sessions stay
        wait_until(lambda: _served_fingerprint(p.site_tls) == _fingerprint(cert.read_text()),
                   "the site broker to serve the renewed certificate")
        kiosk.subscribe("brexit/v1/janti/kiosk-1/status")
        assert kiosk.disconnects == 0
    assert not refused(p.site_tls, p.node())  # TLS clients verify it with the fleet CA


def _fingerprint(pem: str) -> str:
    return subprocess.run(["openssl", "x509", "-noout", "-fingerprint"], input=pem,
                          capture_output=True, text=True, check=False).stdout


def _served_fingerprint(address: Address) -> str:
    served = subprocess.run(
        ["openssl", "s_client", "-connect", f"{address.host}:{address.port}"],
        input="", capture_output=True, text=True, check=False)
    return _fingerprint(served.stdout)


def test_renew_refuses_another_ca_and_a_missing_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("ca", "other-ca"):
        assert broker_cli.run(["ca", "--out", str(tmp_path / name)]) == 0
    assert broker_cli.run(["site", "--site", "janti", "--nodes", "k1", "--ca",
                           str(tmp_path / "ca"), "--out", str(tmp_path / "janti"),
                           "--central", "ncc.example.id:8883"]) == 0
    old = (tmp_path / "janti" / "server.crt").read_bytes()
    capsys.readouterr()
    assert broker_cli.run(["renew", "--bundle", str(tmp_path / "janti"),
                           "--ca", str(tmp_path / "other-ca")]) == 2
    assert "is not the CA of" in capsys.readouterr().err
    assert (tmp_path / "janti" / "server.crt").read_bytes() == old
    assert broker_cli.run(["renew", "--bundle", str(tmp_path / "nope"),
                           "--ca", str(tmp_path / "ca")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert broker_cli.run(["renew", "--bundle", str(tmp_path / "janti"), "--ca",
                           str(tmp_path / "ca"), "--host", "janti-utama.local"]) == 0
    assert certs.subject_alt_names(tmp_path / "janti" / "server.crt") == ["janti-utama.local"]
