"""The compliance report page (issue 18): the report built on request, in the page's
language, with its printable HTML and its JSON to download. Reviewers, admins and outside
auditors (an auditor's every read audited by the service)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from serving import deps
from serving.compliance import service
from serving.compliance.schemas import ComplianceReportPublic
from serving.deps import SessionDep, SpecsDep
from serving.web.core import CompliancePage, PageError, PageRoute, page_lang, render
from serving.web.i18n import translator
from serving.web.periods import picker

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _day(request: Request, text: str | None) -> datetime | None:
    """A date from the period form (YYYY-MM-DD, the date input's own format), midnight UTC;
    an empty field is no bound."""
    if text is None or not text.strip():
        return None
    try:
        return datetime.combine(date.fromisoformat(text.strip()), datetime.min.time(), UTC)
    except ValueError:
        t = translator(page_lang(request))
        raise PageError(422, t("err_422_title"), t("cr_bad_date", value=text[:40])) from None


class _Reading:
    """Who reads the report and for which period: what every compliance page takes."""

    def __init__(self, request: Request, principal: CompliancePage, session: SessionDep,
                 specs: SpecsDep, since: str | None = Query(None, max_length=40),
                 until: str | None = Query(None, max_length=40),
                 quarter: str | None = Query(None, max_length=20)) -> None:
        self.request, self.principal, self.session, self.specs = (request, principal,
                                                                  session, specs)
        self.since, self.until, self.quarter = since, until, quarter

    def report(self, what: str) -> ComplianceReportPublic:
        """The report built for this reader (an auditor's read audited as `what`)."""
        request = self.request
        return service.for_reader(self.session, deps.settings(request), self.specs,
                                  self.principal, via="web", what=what,
                                  since=_day(request, self.since),
                                  until=_day(request, self.until), quarter=self.quarter,
                                  lang=page_lang(request))


Reading = Annotated[_Reading, Depends()]


@router.get("/staff/compliance")
def compliance_page(reading: Reading) -> Response:
    report = reading.report("compliance_report")
    period = {k: v for k, v in (("since", reading.since), ("until", reading.until),
                                ("quarter", reading.quarter)) if v}
    return render(reading.request, "staff/compliance.html", principal=reading.principal,
                  report=report, body=service.render_body(report),
                  since=reading.since or "", until=reading.until or "", period=period,
                  periods=picker(reading.session, reading.principal, reading.quarter),
                  action="/staff/compliance")


def _download(content: str, media: str, name: str) -> Response:
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/staff/compliance/report.html")
def compliance_html(reading: Reading) -> Response:
    """The printable document (the same file `make compliance-report` writes)."""
    report = reading.report("compliance_report_html")
    return _download(service.render_html(report), "text/html; charset=utf-8",
                     f"compliance-report-{report.lang}.html")


@router.get("/staff/compliance/report.json")
def compliance_json(reading: Reading) -> Response:
    report = reading.report("compliance_report_json")
    return _download(service.to_json(report), "application/json",
                     f"compliance-report-{report.lang}.json")
