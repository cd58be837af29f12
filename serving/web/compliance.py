"""The compliance report page (issue 18): the report built on request, in the page's
language, with its printable HTML and its JSON to download. Reviewers, admins and outside
auditors (an auditor's every read audited by the service)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from serving import deps
from serving.compliance import service
from serving.compliance.schemas import ComplianceReportPublic
from serving.deps import SessionDep, SpecsDep
from serving.errors import InvalidInput
from serving.web.core import CompliancePage, PageRoute, page_lang, render
from serving.web.i18n import translator
from serving.web.periods import Asked, form_errors, picker

router = APIRouter(route_class=PageRoute, include_in_schema=False)


class _Reading:
    """Who reads the report and for which period: what every compliance page takes. The
    period is read as the API reads it (`Asked.request`: its model, then the service's
    rules); a period the API refuses is InvalidInput here too."""

    def __init__(self, request: Request, principal: CompliancePage, session: SessionDep,
                 specs: SpecsDep, since: str | None = Query(None, max_length=40),
                 until: str | None = Query(None, max_length=40),
                 quarter: str | None = Query(None, max_length=20)) -> None:
        self.request, self.principal, self.session, self.specs = (request, principal,
                                                                  session, specs)
        self.asked = Asked.of(since, until, quarter)

    def report(self, what: str) -> ComplianceReportPublic:
        """The report built for this reader (an auditor's read audited as `what`)."""
        request = self.request
        period = self.asked.request()
        return service.for_reader(self.session, deps.settings(request), self.specs,
                                  self.principal, via="web", what=what,
                                  since=period.since, until=period.until,
                                  quarter=period.quarter, lang=page_lang(request))


Reading = Annotated[_Reading, Depends()]


@router.get("/staff/compliance")
def compliance_page(reading: Reading) -> Response:
    """The report of the period asked for; a period the API refuses is shown on the
    period form (422, no report)."""
    asked, principal = reading.asked, reading.principal
    periods = picker(reading.session, principal, asked.quarter)
    context = {"principal": principal, "asked": asked, "period": asked.query(),
               "periods": periods, "action": "/staff/compliance"}
    try:
        report = reading.report("compliance_report")
    except InvalidInput as exc:
        t = translator(page_lang(reading.request))
        errors = form_errors(exc, asked, t, principal.outside)
        if errors is None:
            raise
        return render(reading.request, "staff/compliance.html", status_code=422,
                      report=None, body="", errors=errors, **context)
    return render(reading.request, "staff/compliance.html", report=report,
                  body=service.render_body(report), errors={}, **context)


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
