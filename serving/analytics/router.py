"""Contest analytics over the API: JSON and CSV, for reviewers, admins and outside auditors
(issue 18; an auditor's read is audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from serving.analytics import service
from serving.analytics.schemas import AnalyticsPublic, PeriodQuery
from serving.deps import AnalyticsReader, CtxDep, SettingsDep

router = APIRouter(tags=["analytics"])
# since/until/quarter: the disputes received in the period (the pages read the same model)
Period = Annotated[PeriodQuery, Query()]


@router.get("/v1/analytics/contests", response_model=AnalyticsPublic)
def contests(reader: AnalyticsReader, ctx: CtxDep, settings: SettingsDep,
             period: Period) -> AnalyticsPublic:
    """How predictions are contested and how disputes end: by factor, outcome, risk band,
    segment; time to decision, share within the deadline, rectifications that changed the
    route, blind-first agreement rates; by sensitive group when CHURN_AUDIT_ATTRIBUTES names
    the audit attributes file. Counts below CHURN_ANALYTICS_MIN_CELL are null. The period
    is in UTC (a date, or a time without an offset, is read as UTC) and until comes after
    since, else 422. An auditor reads one calendar quarter that has ended, as it stood at
    its end (`as_of`); without a period, the last ended quarter."""
    return service.read(ctx.session, ctx.specs, settings, reader, via="api",
                        since=period.since, until=period.until, quarter=period.quarter,
                        lang=ctx.lang)


@router.get("/v1/analytics/contests.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                                     "description": "The figures as CSV"}})
def contests_csv(reader: AnalyticsReader, ctx: CtxDep, settings: SettingsDep,
                 period: Period) -> Response:
    """The same figures as CSV (table, group, count, out_of, share, rate); suppressed
    values read "< k"."""
    a = service.read(ctx.session, ctx.specs, settings, reader, via="api", export=True,
                     since=period.since, until=period.until, quarter=period.quarter,
                     lang=ctx.lang)
    return Response(service.to_csv(a), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="contest-analytics.csv"'})
