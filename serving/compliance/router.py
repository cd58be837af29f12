"""The compliance report over the API, built on request (issue 18): reviewers, admins and
outside auditors (an auditor's read is audited)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from serving.analytics.schemas import PeriodQuery
from serving.compliance import service
from serving.compliance.schemas import ComplianceReportPublic
from serving.deps import ComplianceReader, SessionDep, SettingsDep, SpecsDep

router = APIRouter(tags=["compliance"])


@router.get("/v1/compliance/report", response_model=ComplianceReportPublic)
def report(reader: ComplianceReader, session: SessionDep, settings: SettingsDep,
           specs: SpecsDep, period: Annotated[PeriodQuery, Query()],
           lang: Literal["en", "fr"] = Query("en", description="The reader's language"),
           ) -> ComplianceReportPublic:
    """The record of processing and compliance report (what `make compliance-report`
    writes), built now: rights requests and their deadlines, disputes and outcomes (small
    cells null), the model versions served with their cards, the audit chain verified.
    The period is in UTC (a date, or a time without an offset, is read as UTC) and until
    comes after since, else 422. An auditor reads one calendar quarter that has ended, as
    it stood at its end (`as_of`); without a period, the last ended quarter."""
    return service.for_reader(session, settings, specs, reader, via="api",
                              since=period.since, until=period.until,
                              quarter=period.quarter, lang=lang)
