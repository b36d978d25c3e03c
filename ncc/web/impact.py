"""The "Dampak" (impact) page and ``GET /api/v1/impact``: the figures of ``ncc.impact``
for a month, per puskesmas and for the city, with a trend per week (or day).

Query: ``month`` (YYYY-MM, default the current month in WIB), ``site`` (one puskesmas's
trend on the page; the API then returns only that puskesmas and the city), ``trend``
(``week``, the default, or ``day``). The same month and the same stored events give the same answer.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ncc import impact, report
from ncc.impact import WIB, ImpactError, Report
from ncc.web import params
from ncc.web.http import BadRequest, NotFound, Request, Response

if TYPE_CHECKING:
    from ncc.monitor import Monitor
    from ncc.web.app import App

CACHE_SIZE = 8
TRENDS = ("day", "week")
CHART_KEYS = ("braille", "independence", "wait_median_assisted", "wait_median_others")

_cache: OrderedDict[tuple[Any, ...], Report] = OrderedDict()
_lock = threading.Lock()


def month_report(monitor: Monitor, req: Request) -> tuple[Report, str | None, str]:
    """The month's report for the request; 400 on a bad query, 404 on an unknown site."""
    now = datetime.now(WIB)
    text = params.one(req.query, "month") or now.strftime("%Y-%m")
    try:
        period = impact.month(text)
    except ImpactError as e:
        raise BadRequest(str(e)) from None
    site = params.ident(params.one(req.query, "site"), "site")
    trend = params.choice(params.one(req.query, "trend"), "trend", TRENDS) or "week"
    sites = report.sites_of(monitor.fleet)
    if site is not None and site not in {s.id for s in sites}:
        raise NotFound(f"no site {site}")
    until = now.replace(second=0, microsecond=0)
    mark = monitor.store.period_mark(period.first.isoformat(), period.last.isoformat())
    key = (period, trend, mark, until if period.end() > until else None)
    with _lock:
        cached = _cache.get(key)
    if cached is None:
        cached = report.load(monitor.store, sites, period, trend=trend, until=until)
        with _lock:
            _cache[key] = cached
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return cached, site, trend


def api(monitor: Monitor, req: Request) -> Response:
    r, site, _ = month_report(monitor, req)
    body = impact.as_json(r)
    if site is not None:
        body["sites"] = [s for s in body["sites"] if s["site"] == site]
    return Response.json(body)


def chart_data(trend: Any) -> dict[str, Any]:
    """A trend as the chart's columns: the periods' first days and the shown figures (a
    figure not shown, like "< 5", is a gap)."""
    figures = [impact.shown(f) for _, f in trend]
    return {"x": [p.first.isoformat() for p, _ in trend],
            **{k: [v if isinstance(v, int | float) else None for v in (f[k] for f in figures)]
               for k in CHART_KEYS}}


def page(app: App, req: Request) -> Response:
    from ncc.web.pages import page as render

    r, site, trend = month_report(app.monitor, req)
    chosen = next((s for s in r.sites if s.site.id == site), r.sites[0] if r.sites else None)
    return render(
        app, req, "impact.html", title="Dampak", r=r, trend=trend, chosen=chosen,
        city=impact.shown(r.city), rows=[(s, impact.shown(s.figures)) for s in r.sites],
        fields=impact.FIELDS, text=impact.text, shown=impact.shown,
        definitions=report.DEFINITIONS, month_title=report.month_title(r.period),
        data_period=report.data_period(r), live="",
        charts={"city": chart_data(r.city_trend),
                "site": chart_data(chosen.trend) if chosen else None},
    )
