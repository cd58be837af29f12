"""The compliance report over the API, built on request (issue 18): reviewers, admins and
outside auditors (an auditor's read is audited)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from serving.compliance import service
from serving.compliance.schemas import ComplianceReportPublic
from serving.deps import ComplianceReader, SessionDep, SettingsDep, SpecsDep
from serving.isotime import IsoDateTime, QuarterText

router = APIRouter(tags=["compliance"])


@router.get("/v1/compliance/report", response_model=ComplianceReportPublic)
def report(reader: ComplianceReader, session: SessionDep, settings: SettingsDep,
           specs: SpecsDep,
           since: IsoDateTime | None = Query(None, description="Period start (UTC)"),
           until: IsoDateTime | None = Query(None, description="Period end, excluded"),
           quarter: QuarterText | None = Query(None, description="A calendar quarter (UTC), "
                                               "e.g. 2026-Q2: instead of since/until"),
           lang: Literal["en", "fr"] = Query("en", description="The reader's language"),
           ) -> ComplianceReportPublic:
    """The record of processing and compliance report (what `make compliance-report`
    writes), built now: rights requests and their deadlines, disputes and outcomes (small
    cells null), the model versions served with their cards, the audit chain verified.
    An auditor reads one calendar quarter that has ended, as it stood at its end
    (`as_of`); without a period, the last ended quarter."""
    return service.for_reader(session, settings, specs, reader, via="api", since=since,
                              until=until, quarter=quarter, lang=lang)
