"""``ncc.toml``: the NCC's broker, database, listen address, alarm thresholds, webhook, fleet.

With no file the embedded default applies (a database under ``data/ncc/``, broker
``127.0.0.1:1883`` without a login, listen ``127.0.0.1:8080``). A bad value raises
ConfigError whose message starts with the file and names the field:

>>> anonymous = {"mqtt": {"allow_anonymous": True}}
>>> parse_config({**anonymous, "alarms": {"hold_down_s": -1}}, Path("ncc.toml"))
Traceback (most recent call last):
...
ncc.config.ConfigError: ncc.toml: alarms.hold_down_s: expected a number >= 0
>>> parse_config({"mqtt": {"username": "ncc"}}, Path("ncc.toml"))
Traceback (most recent call last):
...
ncc.config.ConfigError: ncc.toml: mqtt.password: required with username (or password_file)
>>> parse_config({**anonymous, "http": {"listen": "127.0.0.1:0"}}, Path("ncc.toml")).http.listen
('127.0.0.1', 0)
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contract.fleet import default_path as default_fleet_path

DEFAULT_DB = Path("data/ncc/ncc.db")
KNOWN = {
    "mqtt": {"host", "port", "username", "password", "password_file", "tls_ca",
             "allow_anonymous", "client_id"},
    "store": {"path", "health_days", "events_days", "full_health_hours"},
    "http": {"listen", "metrics_open"},
    "alarms": {"hold_down_s", "silent_after_intervals", "health_interval_s", "clock_skew_s",
               "certificate_days", "disk_used_pct", "site_min_nodes"},
    "notify": {"webhook_url", "retries", "retry_delay_s", "cooldown_s", "timeout_s"},
    "fleet": {"path", "target_version"},
}


class ConfigError(ValueError):
    """ncc.toml cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls_ca: Path | None = None
    allow_anonymous: bool = False
    client_id: str = "brexit-ncc"


@dataclass(frozen=True)
class StoreSettings:
    path: Path = DEFAULT_DB
    health_days: float = 30.0  # health history kept this long
    events_days: float = 365.0
    full_health_hours: float = 24.0  # beyond this, health history is downsampled


@dataclass(frozen=True)
class HttpSettings:
    listen: tuple[str, int] = ("127.0.0.1", 8080)
    metrics_open: bool = True


@dataclass(frozen=True)
class AlarmSettings:
    hold_down_s: float = 60.0
    silent_after_intervals: float = 2.5
    health_interval_s: float = 30.0
    clock_skew_s: float = 60.0
    certificate_days: int = 30
    disk_used_pct: float = 90.0
    site_min_nodes: int = 2  # a site with fewer seen nodes is never "unreachable"

    @property
    def silent_after_s(self) -> float:
        return self.silent_after_intervals * self.health_interval_s


@dataclass(frozen=True)
class NotifySettings:
    webhook_url: str | None = None
    retries: int = 3
    retry_delay_s: float = 1.0
    cooldown_s: float = 300.0
    timeout_s: float = 5.0


@dataclass(frozen=True)
class FleetSettings:
    path: Path = field(default_factory=default_fleet_path)
    target_version: str | None = None


@dataclass(frozen=True)
class NccConfig:
    mqtt: MqttSettings = MqttSettings(allow_anonymous=True)
    store: StoreSettings = StoreSettings()
    http: HttpSettings = HttpSettings()
    alarms: AlarmSettings = AlarmSettings()
    notify: NotifySettings = NotifySettings()
    fleet: FleetSettings = field(default_factory=FleetSettings)


def load_config(path: Path | None) -> NccConfig:
    """``path`` read and checked, or the embedded default when ``path`` is None."""
    if path is None:
        return NccConfig()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not TOML: {e}") from None
    return parse_config(raw, path)


def parse_config(raw: Mapping[str, Any], path: Path) -> NccConfig:
    base = path.parent
    for section, value in raw.items():
        if section not in KNOWN:
            raise ConfigError(f"{path}: {section}: unknown section (one of {sorted(KNOWN)})")
        table = _Table(value, section, path)
        table.check_keys(KNOWN[section])
    return NccConfig(
        mqtt=_mqtt(_Table(raw.get("mqtt", {}), "mqtt", path), base),
        store=_store(_Table(raw.get("store", {}), "store", path), base),
        http=_http(_Table(raw.get("http", {}), "http", path)),
        alarms=_alarms(_Table(raw.get("alarms", {}), "alarms", path)),
        notify=_notify(_Table(raw.get("notify", {}), "notify", path)),
        fleet=_fleet(_Table(raw.get("fleet", {}), "fleet", path), base),
    )


def _mqtt(t: _Table, base: Path) -> MqttSettings:
    password = t.opt_str("password")
    pw_file = t.opt_str("password_file")
    if pw_file is not None:
        pw_path = base / pw_file
        try:
            password = pw_path.read_text(encoding="utf-8").strip()
        except OSError as e:
            t.fail("password_file", f"cannot read {pw_path}: {e.strerror or e}")
    username = t.opt_str("username")
    anonymous = t.flag("allow_anonymous", False)
    if username is None and not anonymous:
        t.fail("username", "required (or allow_anonymous = true, for development only)")
    if username is not None and password is None:
        t.fail("password", "required with username (or password_file)")
    tls_ca = t.opt_str("tls_ca")
    return MqttSettings(
        host=t.text("host", "127.0.0.1"), port=t.port("port", 1883), username=username,
        password=password, tls_ca=None if tls_ca is None else base / tls_ca,
        allow_anonymous=anonymous, client_id=t.text("client_id", "brexit-ncc"),
    )


def _store(t: _Table, base: Path) -> StoreSettings:
    return StoreSettings(
        path=base / t.text("path", str(DEFAULT_DB)),
        health_days=t.number("health_days", 30.0),
        events_days=t.number("events_days", 365.0),
        full_health_hours=t.number("full_health_hours", 24.0),
    )


def _http(t: _Table) -> HttpSettings:
    listen = t.text("listen", "127.0.0.1:8080")
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        t.fail("listen", f"{listen!r} is not HOST:PORT")
    return HttpSettings(listen=(host, int(port)), metrics_open=t.flag("metrics_open", True))


def _alarms(t: _Table) -> AlarmSettings:
    return AlarmSettings(
        hold_down_s=t.number("hold_down_s", 60.0),
        silent_after_intervals=t.number("silent_after_intervals", 2.5),
        health_interval_s=t.number("health_interval_s", 30.0),
        clock_skew_s=t.number("clock_skew_s", 60.0),
        certificate_days=int(t.number("certificate_days", 30)),
        disk_used_pct=t.number("disk_used_pct", 90.0),
        site_min_nodes=int(t.number("site_min_nodes", 2)),
    )


def _notify(t: _Table) -> NotifySettings:
    url = t.opt_str("webhook_url")
    if url is not None and not url.startswith(("http://", "https://")):
        t.fail("webhook_url", f"{url!r} is not an http:// or https:// URL")
    return NotifySettings(
        webhook_url=url, retries=int(t.number("retries", 3)),
        retry_delay_s=t.number("retry_delay_s", 1.0), cooldown_s=t.number("cooldown_s", 300.0),
        timeout_s=t.number("timeout_s", 5.0),
    )


def _fleet(t: _Table, base: Path) -> FleetSettings:
    path = t.opt_str("path")
    return FleetSettings(
        path=default_fleet_path() if path is None else base / path,
        target_version=t.opt_str("target_version"),
    )


class _Table:
    """One section of the file, with typed getters that name ``section.key`` on error."""

    def __init__(self, value: object, section: str, path: Path) -> None:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: {section}: expected a table")
        self.raw, self.section, self.path = value, section, path

    def fail(self, key: str, message: str) -> None:
        raise ConfigError(f"{self.path}: {self.section}.{key}: {message}")

    def check_keys(self, known: set[str]) -> None:
        for key in self.raw:
            if key not in known:
                self.fail(key, f"unknown key (one of {sorted(known)})")

    def text(self, key: str, default: str) -> str:
        value = self.raw.get(key, default)
        if not isinstance(value, str) or not value.strip():
            self.fail(key, "expected a non-empty string")
        return str(value)

    def opt_str(self, key: str) -> str | None:
        return None if key not in self.raw else self.text(key, "")

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, "expected true or false")
        return bool(value)

    def number(self, key: str, default: float) -> float:
        value = self.raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            self.fail(key, "expected a number >= 0")
        return float(value)

    def port(self, key: str, default: int) -> int:
        value = self.raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
            self.fail(key, "expected a port number (1-65535)")
        return int(value)
