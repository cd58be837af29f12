"""The contest analytics page (issue 18): the analytics service's figures as tables and
server-drawn bar charts (inline SVG, no script), with the CSV export. Reviewers, admins and
outside auditors (an auditor's every read audited by the service)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup, escape

from serving import deps
from serving.analytics import service
from serving.analytics.schemas import TablePublic
from serving.deps import SessionDep, SpecsDep
from serving.errors import InvalidInput
from serving.web.core import AnalyticsPage, PageRoute, page_lang, render
from serving.web.i18n import translator
from serving.web.periods import Asked, form_errors, picker
from serving.web.svg import wrap

router = APIRouter(route_class=PageRoute, include_in_schema=False)
BAR = "#1f5fa8"
HIDDEN = "#8a8f98"


def count_bars(table: TablePublic, k: int, title: str, chart_id: str) -> Markup:
    """Horizontal bars of a table's counts; a suppressed cell is a grey stub marked
    "< k", never its count."""
    rows = list(table.cells)
    top = max([c.count or 0 for c in rows] + [k, 1])
    y, parts = 28, []
    for c in rows:
        lines = wrap(c.label, 38)
        for line in lines:
            parts.append(f'<text x="0" y="{y}" font-size="14">{escape(line)}</text>')
            y += 18
        if c.count is None:
            width, colour, text = 2.0, HIDDEN, f"< {k}"
        else:
            width, colour, text = max(70.0 * c.count / top, 0.5), BAR, str(c.count)
        parts.append(f'<rect x="0" y="{y - 12}" width="{width:.2f}%" height="14" '
                     f'fill="{colour}"><title>{escape(c.label)}: {escape(text)}</title></rect>')
        parts.append(f'<text x="{width + 1.5:.2f}%" y="{y}" font-size="14">'
                     f'{escape(text)}</text>')
        y += 24
    desc = "; ".join(f"{c.label}: {c.count if c.count is not None else f'< {k}'}"
                     for c in rows)
    return Markup(
        f'<svg class="chart" id="{chart_id}" role="img" width="100%" height="{y}" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">'
        f'{escape(desc)}</desc>{"".join(parts)}</svg>')


QuarterQuery = Annotated[str | None, Query(max_length=20)]
DateQuery = Annotated[str | None, Query(max_length=40)]


@router.get("/staff/analytics")
def analytics_page(request: Request, principal: AnalyticsPage, session: SessionDep,
                   specs: SpecsDep, since: DateQuery = None, until: DateQuery = None,
                   quarter: QuarterQuery = None) -> Response:
    """The figures of the period asked for (the API's query and rules: a period the API
    refuses is shown on the period form, with a 422, and no figures)."""
    lang = page_lang(request)
    settings = deps.settings(request)
    k = settings.analytics_min_cell
    t = translator(lang)
    asked = Asked.of(since, until, quarter)
    periods = picker(session, principal, asked.quarter)
    context = {"lang": lang, "principal": principal, "periods": periods, "asked": asked,
               "k": k, "action": "/staff/analytics",
               "link": asked.query() or ({"quarter": periods.chosen} if periods.chosen
                                         else {})}
    try:
        period = asked.request()
        a = service.read(session, specs, settings, principal, via="web",
                         since=period.since, until=period.until, quarter=period.quarter,
                         lang=lang)
    except InvalidInput as exc:
        errors = form_errors(exc, asked, t, principal.outside)
        if errors is None:
            raise
        return render(request, "staff/analytics.html", status_code=422, a=None, charts={},
                      errors=errors, **context)
    for table in a.tables:  # outcomes and bands in the page's words
        if table.key in ("by_outcome", "by_band"):
            for c in table.cells:
                c.label = t("an_g_" + c.group)
    charts = {t.key: count_bars(t, k, t.title, "chart-" + t.key.replace(":", "-"))
              for t in a.tables}
    return render(request, "staff/analytics.html", a=a, charts=charts, errors={}, **context)


@router.get("/staff/analytics.csv")
def analytics_csv(request: Request, principal: AnalyticsPage, session: SessionDep,
                  specs: SpecsDep, since: DateQuery = None, until: DateQuery = None,
                  quarter: QuarterQuery = None) -> Response:
    """The CSV of the period asked for (a period the API refuses: a 422 page saying why)."""
    period = Asked.of(since, until, quarter).request()
    a = service.read(session, specs, deps.settings(request), principal, via="web",
                     export=True, since=period.since, until=period.until,
                     quarter=period.quarter, lang=page_lang(request))
    return Response(service.to_csv(a), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="contest-analytics.csv"'})
