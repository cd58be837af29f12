"""Contest analytics over the API: JSON and CSV, for reviewers and admins (issue 18)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Query
from fastapi.responses import Response

from serving.analytics import service
from serving.analytics.schemas import AnalyticsPublic
from serving.deps import CtxDep, Reviewer, SettingsDep
from serving.isotime import IsoDateTime

router = APIRouter(tags=["analytics"])


@router.get("/v1/analytics/contests", response_model=AnalyticsPublic)
def contests(_: Reviewer, ctx: CtxDep, settings: SettingsDep,
             since: IsoDateTime | None = Query(None, description="Disputes received from"),
             until: IsoDateTime | None = Query(None, description="...and before"),
             ) -> AnalyticsPublic:
    """How predictions are contested and how disputes end: by factor, outcome, risk band,
    segment; time to decision, share within the deadline, rectifications that changed the
    route, blind-first agreement rates; by sensitive group when CHURN_AUDIT_ATTRIBUTES names
    the audit attributes file. Counts below CHURN_ANALYTICS_MIN_CELL are null."""
    attrs, sizes = service.attributes_from_settings(settings)
    a = service.compute(ctx.session, ctx.specs, settings.analytics_min_cell, since=since,
                        until=until, lang=ctx.lang, attributes=attrs, group_sizes=sizes)
    return AnalyticsPublic.model_validate(asdict(a))


@router.get("/v1/analytics/contests.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                                     "description": "The figures as CSV"}})
def contests_csv(_: Reviewer, ctx: CtxDep, settings: SettingsDep,
                 since: IsoDateTime | None = None, until: IsoDateTime | None = None) -> Response:
    """The same figures as CSV (table, group, count, out_of, share, rate); suppressed
    values read "< k"."""
    attrs, sizes = service.attributes_from_settings(settings)
    a = service.compute(ctx.session, ctx.specs, settings.analytics_min_cell, since=since,
                        until=until, lang=ctx.lang, attributes=attrs, group_sizes=sizes)
    return Response(service.to_csv(a), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="contest-analytics.csv"'})
