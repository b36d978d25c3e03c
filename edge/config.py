"""A node's configuration: one TOML file, checked completely before the node starts.

A bad file is refused with one message naming the field and the problem:

>>> try:
...     parse_config({"site": "Janti", "node": "k1", "site_name": "x", "roles": ["kiosk"],
...                   "services": [{"code": "A", "name": "Poli Umum"}]}, source="node.toml")
... except ConfigError as e:
...     print(e)
node.toml: site: 'Janti' does not match '^[a-z0-9][a-z0-9-]{0,31}$'
"""

from __future__ import annotations

import json
import ssl
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from edge.bpjs.config import BpjsConfig, BpjsConfigError, parse_bpjs
from edge.braille.codec import unwritable
from edge.pinmap import PinMap, PinMapError, default_pinmap_path, load_boards


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the file and field."""


@dataclass(frozen=True)
class ServiceConfig:
    code: str  # "A"
    name: str  # "Poli Umum"
    button: str  # pin-map name of its kiosk button, "service-1"
    braille_label: str  # text embossed on the button's label
    spoken_name: str = ""  # how speech says the name ("ka i a"); "" = from the name


@dataclass(frozen=True)
class CounterConfig:
    number: int
    services: tuple[str, ...]
    assisted_first: bool = True

    def button(self, action: str) -> str:
        """Pin-map name of this counter's button for ``action`` (next, recall, skip, done)."""
        return f"{action}-{self.number}"


@dataclass(frozen=True)
class SerialDeviceConfig:
    enabled: bool = True
    url: str | None = None  # None with enabled: the emulator (simulate) or not fitted
    baudrate: int = 9600
    width: int = 0  # printer characters per line, embosser cells per line, number of cells
    status_query: bool = True
    message_s: float = 0.0  # cells: how long a staff message stays; 0 = until replaced


@dataclass(frozen=True)
class SpeakerConfig:
    enabled: bool = True
    voice: str = "id"
    rate: int = 150
    volume: float = 0.9


@dataclass(frozen=True)
class ButtonTiming:
    debounce_s: float = 0.03
    hold_s: float = 2.0
    stuck_s: float = 10.0
    double_tap_s: float = 0.5  # a second press of one button within this is the same press


@dataclass(frozen=True)
class MqttConfig:
    host: str = "localhost"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    allow_anonymous: bool = False
    keepalive: int = 30
    health_interval_s: float = 30.0
    backlog_warn: int = 1000  # unacked events above which health warns


@dataclass(frozen=True)
class NodeConfig:
    """Everything that makes a node itself (besides its credentials)."""

    site: str
    node: str
    site_name: str
    roles: frozenset[str]
    services: tuple[ServiceConfig, ...]
    counters: tuple[CounterConfig, ...] = ()
    timezone: str = "Asia/Jakarta"
    braille_kiosk: bool = True
    cells_near: tuple[str, ...] = ()
    pinmap: Path | None = None
    buttons: ButtonTiming = field(default_factory=ButtonTiming)
    printer: SerialDeviceConfig = field(default_factory=lambda: SerialDeviceConfig(width=32))
    embosser: SerialDeviceConfig = field(default_factory=lambda: SerialDeviceConfig(width=28))
    cells: SerialDeviceConfig = field(default_factory=lambda: SerialDeviceConfig(width=20))
    speaker: SpeakerConfig = field(default_factory=SpeakerConfig)
    mqtt: MqttConfig | None = None
    bpjs: BpjsConfig | None = None
    source: str = "<demo>"

    def service(self, code: str) -> ServiceConfig:
        for s in self.services:
            if s.code == code:
                return s
        raise KeyError(code)

    def counter(self, number: int) -> CounterConfig:
        for c in self.counters:
            if c.number == number:
                return c
        raise KeyError(number)


def _schema() -> dict[str, Any]:
    text = resources.files("edge").joinpath("config_schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _where(error: jsonschema.ValidationError) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path]
    return "".join(parts).lstrip(".") or "(top level)"


def _check_schema(raw: dict[str, Any], source: str) -> None:
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(raw), key=lambda e: (len(e.absolute_path), e.path))
    if errors:
        first = errors[0]
        raise ConfigError(f"{source}: {_where(first)}: {first.message}")


def _services(raw: list[dict[str, Any]], source: str) -> tuple[ServiceConfig, ...]:
    services = tuple(
        ServiceConfig(
            code=s["code"],
            name=s["name"],
            button=s.get("button", f"service-{i + 1}"),
            braille_label=s.get("braille_label", s["name"]),
            spoken_name=s.get("spoken_name", ""),
        )
        for i, s in enumerate(raw)
    )
    for i, s in enumerate(services):
        for field_name in ("name", "braille_label"):
            bad = unwritable(getattr(s, field_name))
            if bad is not None:
                raise ConfigError(
                    f"{source}: services[{i}].{field_name}: Indonesian Braille cannot write "
                    f"{bad[0]!r} (character {bad[1] + 1} of {getattr(s, field_name)!r})"
                )
    for field_name in ("code", "button"):
        seen: set[str] = set()
        for i, s in enumerate(services):
            value = getattr(s, field_name)
            if value in seen:
                raise ConfigError(f"{source}: services[{i}].{field_name}: {value!r} used twice")
            seen.add(value)
    return services


def _counters(raw: list[dict[str, Any]], codes: set[str], source: str) -> tuple[CounterConfig, ...]:
    counters: list[CounterConfig] = []
    for i, c in enumerate(raw):
        for code in c["services"]:
            if code not in codes:
                raise ConfigError(f"{source}: counters[{i}].services: unknown service {code!r}")
        if any(x.number == c["number"] for x in counters):
            raise ConfigError(f"{source}: counters[{i}].number: {c['number']} used twice")
        counters.append(
            CounterConfig(c["number"], tuple(c["services"]), c.get("assisted_first", True))
        )
    return tuple(counters)


def _serial(raw: dict[str, Any] | None, width_key: str, default_width: int) -> SerialDeviceConfig:
    raw = raw or {}
    return SerialDeviceConfig(
        enabled=raw.get("enabled", True),
        url=raw.get("url"),
        baudrate=raw.get("baudrate", 9600),
        width=raw.get(width_key, default_width),
        status_query=raw.get("status_query", True),
        message_s=raw.get("message_s", 0.0),
    )


TLS_FILES = ("tls_ca", "tls_cert", "tls_key")


def _check_tls_file(key: str, path: Path | None, source: str) -> None:
    """A TLS file the node will need must be there now (and the CA must be PEM), or the
    node is refused at start rather than failing every connection attempt later."""
    if path is None:
        return
    try:
        path.read_bytes()
        if key == "tls_ca":
            ssl.create_default_context(cafile=str(path))
    except ssl.SSLError as e:  # before OSError, its base class
        raise ConfigError(f"{source}: mqtt.{key}: {path} is not a PEM certificate "
                          f"({e.reason or e})") from e
    except OSError as e:
        raise ConfigError(f"{source}: mqtt.{key}: cannot read {path}: {e.strerror or e}") from e


def _mqtt(raw: dict[str, Any] | None, base: Path, source: str) -> MqttConfig | None:
    if raw is None:
        return None
    password = raw.get("password")
    if "password_file" in raw:
        path = base / raw["password_file"]
        try:
            password = path.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ConfigError(f"{source}: mqtt.password_file: cannot read {path}: {e}") from e
    if not raw.get("allow_anonymous", False) and (not raw.get("username") or not password):
        raise ConfigError(
            f"{source}: mqtt: username and password (or password_file) are required "
            "unless allow_anonymous = true"
        )

    def path_of(key: str) -> Path | None:
        return base / raw[key] if key in raw else None

    for key in TLS_FILES:
        _check_tls_file(key, path_of(key), source)
    return MqttConfig(
        host=raw.get("host", "localhost"),
        port=raw.get("port", 8883 if "tls_ca" in raw else 1883),
        username=raw.get("username"),
        password=password,
        tls_ca=path_of("tls_ca"),
        tls_cert=path_of("tls_cert"),
        tls_key=path_of("tls_key"),
        allow_anonymous=raw.get("allow_anonymous", False),
        keepalive=raw.get("keepalive", 30),
        health_interval_s=raw.get("health_interval_s", 30.0),
        backlog_warn=raw.get("backlog_warn", 1000),
    )


def _bpjs(
    raw: dict[str, Any] | None, base: Path, source: str, codes: set[str]
) -> BpjsConfig | None:
    if raw is None:
        return None
    unknown = sorted(set(raw.get("poli", {})) - codes)
    if unknown:
        raise ConfigError(f"{source}: bpjs.poli.{unknown[0]}: no service {unknown[0]!r}")
    try:
        return parse_bpjs(raw, base=base)
    except BpjsConfigError as e:
        raise ConfigError(f"{source}: {e}") from None


def _boards(pinmap: Path | None, source: str) -> dict[str, PinMap] | None:
    """The pin map's boards; None when no file is named and the default is not installed."""
    try:
        path = pinmap or default_pinmap_path()
    except FileNotFoundError:
        return None
    try:
        return load_boards(path)
    except OSError as e:
        raise ConfigError(f"{source}: pinmap: cannot read {path}: {e.strerror or e}") from e
    except PinMapError as e:
        raise ConfigError(f"{source}: pinmap: {e}") from e


def _check_buttons(
    pinmap: Path | None, roles: frozenset[str], services: tuple[ServiceConfig, ...],
    counters: tuple[CounterConfig, ...], source: str,
) -> None:
    """Every button the roles use is on its board of the pin map."""
    boards = _boards(pinmap, source)
    if boards is None:
        return
    wanted: list[tuple[str, str, str]] = []  # (field, board, button)
    if "kiosk" in roles:
        wanted += [(f"services[{i}].button", "kiosk", s.button) for i, s in enumerate(services)]
    if "caller" in roles:
        wanted += [(f"counters[{i}].number", "counter", c.button(action))
                   for i, c in enumerate(counters) for action in ("next", "recall", "skip", "done")]
    for field_name, board, button in wanted:
        if board not in boards:
            raise ConfigError(f"{source}: pinmap: no board {board!r} for {field_name}")
        if button not in boards[board].buttons():
            names = ", ".join(sorted(boards[board].buttons()))
            raise ConfigError(
                f"{source}: {field_name}: the {board} board has no button {button!r} "
                f"(it has: {names})"
            )


def parse_config(raw: dict[str, Any], *, source: str, base: Path | None = None) -> NodeConfig:
    """Check ``raw`` (a parsed TOML document) and build the node's configuration."""
    _check_schema(raw, source)
    base = base or Path.cwd()
    services = _services(raw["services"], source)
    counters = _counters(raw.get("counters", []), {s.code for s in services}, source)
    roles = frozenset(raw["roles"])
    if "caller" in roles and not counters:
        raise ConfigError(f"{source}: counters: the caller role needs at least one counter")
    kiosk = raw.get("kiosk", {})
    timing = raw.get("buttons", {})
    speaker = raw.get("speaker", {})
    pinmap = base / raw["pinmap"] if "pinmap" in raw else None
    _check_buttons(pinmap, roles, services, counters, source)
    return NodeConfig(
        site=raw["site"],
        node=raw["node"],
        site_name=raw["site_name"],
        roles=roles,
        services=services,
        counters=counters,
        timezone=raw.get("timezone", "Asia/Jakarta"),
        braille_kiosk=kiosk.get("braille", True),
        cells_near=tuple(kiosk.get("cells_near", [s.code for s in services])),
        pinmap=pinmap,
        buttons=ButtonTiming(
            debounce_s=timing.get("debounce_ms", 30) / 1000.0,
            hold_s=timing.get("hold_s", 2.0),
            stuck_s=timing.get("stuck_s", 10.0),
            double_tap_s=timing.get("double_tap_ms", 500) / 1000.0,
        ),
        printer=_serial(raw.get("printer"), "width_chars", 32),
        embosser=_serial(raw.get("embosser"), "width_cells", 28),
        cells=_serial(raw.get("cells"), "count", 20),
        speaker=SpeakerConfig(**speaker),
        mqtt=_mqtt(raw.get("mqtt"), base, source),
        bpjs=_bpjs(raw.get("bpjs"), base, source, {s.code for s in services}),
        source=source,
    )


def load_config(path: Path | None) -> NodeConfig:
    """Read the node's TOML file, or the built-in demo puskesmas when ``path`` is None."""
    if path is None:
        text = resources.files("edge").joinpath("data/demo.toml").read_text(encoding="utf-8")
        return parse_config(tomllib.loads(text), source="<demo>")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from e
    return parse_config(raw, source=str(path), base=path.parent)
