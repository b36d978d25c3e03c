"""What every handler may reach: the monitor, the users, the templates, one-shot notices."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jinja2

from ncc.auth import Auth, LoginThrottle
from ncc.web import labels

if TYPE_CHECKING:
    from ncc.monitor import Monitor


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ncc.web", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.globals.update(
        NODE_STATE=labels.NODE_STATE, NODE_ICON=labels.NODE_ICON, SEVERITY=labels.SEVERITY,
        SEVERITY_ICON=labels.SEVERITY_ICON, ALARM_STATE=labels.ALARM_STATE,
        ALARM_KIND=labels.ALARM_KIND, DEVICE=labels.DEVICE, DEVICE_STATE=labels.DEVICE_STATE,
        EVENT_TYPE=labels.EVENT_TYPE, COMMAND=labels.COMMAND, ROLE=labels.ROLE,
        LABELS=labels.all_tables(),
    )
    env.filters.update(word=lambda v, t: labels.word(t, v), when=labels.when,
                       duration=labels.duration)
    return env


@dataclass
class Notices:
    """One-shot messages for a session's next page ("Alarm #3 diakui."), thread-safe."""

    _by_session: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, session: str, kind: str, text: str) -> None:
        with self._lock:
            items = self._by_session.setdefault(session, [])
            items.append((kind, text))
            del items[:-5]

    def take(self, session: str) -> list[tuple[str, str]]:
        with self._lock:
            return self._by_session.pop(session, [])


@dataclass
class App:
    monitor: Monitor
    auth: Auth
    metrics_open: bool = True
    env: jinja2.Environment = field(default_factory=environment)
    notices: Notices = field(default_factory=Notices)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    stop: threading.Event = field(default_factory=threading.Event)

    def render(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(**context)
