"""Contest analytics over the API: JSON and CSV, for reviewers, admins and outside auditors
(issue 18; an auditor's read is audited)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import Response

from serving.analytics import service
from serving.analytics.schemas import AnalyticsPublic
from serving.deps import AnalyticsReader, CtxDep, SettingsDep
from serving.isotime import IsoDateTime

router = APIRouter(tags=["analytics"])


@router.get("/v1/analytics/contests", response_model=AnalyticsPublic)
def contests(reader: AnalyticsReader, ctx: CtxDep, settings: SettingsDep,
             since: IsoDateTime | None = Query(None, description="Disputes received from"),
             until: IsoDateTime | None = Query(None, description="...and before"),
             ) -> AnalyticsPublic:
    """How predictions are contested and how disputes end: by factor, outcome, risk band,
    segment; time to decision, share within the deadline, rectifications that changed the
    route, blind-first agreement rates; by sensitive group when CHURN_AUDIT_ATTRIBUTES names
    the audit attributes file. Counts below CHURN_ANALYTICS_MIN_CELL are null."""
    return service.read(ctx.session, ctx.specs, settings, reader, via="api", since=since,
                        until=until, lang=ctx.lang)


@router.get("/v1/analytics/contests.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                                     "description": "The figures as CSV"}})
def contests_csv(reader: AnalyticsReader, ctx: CtxDep, settings: SettingsDep,
                 since: IsoDateTime | None = None, until: IsoDateTime | None = None) -> Response:
    """The same figures as CSV (table, group, count, out_of, share, rate); suppressed
    values read "< k"."""
    a = service.read(ctx.session, ctx.specs, settings, reader, via="api", export=True,
                     since=since, until=until, lang=ctx.lang)
    return Response(service.to_csv(a), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="contest-analytics.csv"'})
