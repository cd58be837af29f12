"""The compliance report page (issue 18): the report built on request, in the page's
language, with its printable HTML and its JSON to download. Reviewers, admins and outside
auditors (an auditor's every read audited by the service)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from serving import deps
from serving.auth.principal import Principal
from serving.compliance import service
from serving.compliance.schemas import ComplianceReportPublic
from serving.deps import SessionDep, SpecsDep
from serving.web.core import PageError, PageRoute, page_lang, render, staff_page
from serving.web.i18n import translator

router = APIRouter(route_class=PageRoute, include_in_schema=False)
CompliancePage = Annotated[Principal, Depends(staff_page("reviewer", "auditor"))]


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


def _report(request: Request, principal: Principal, session: SessionDep, specs: SpecsDep,
            since: str | None, until: str | None, what: str) -> ComplianceReportPublic:
    return service.for_reader(session, deps.settings(request), specs, principal, via="web",
                              what=what, since=_day(request, since),
                              until=_day(request, until), lang=page_lang(request))


@router.get("/staff/compliance")
def compliance_page(request: Request, principal: CompliancePage, session: SessionDep,
                    specs: SpecsDep, since: str | None = Query(None, max_length=40),
                    until: str | None = Query(None, max_length=40)) -> Response:
    report = _report(request, principal, session, specs, since, until, "compliance_report")
    period = {k: v for k, v in (("since", since), ("until", until)) if v}
    return render(request, "staff/compliance.html", principal=principal, report=report,
                  body=service.render_body(report), since=since or "", until=until or "",
                  period=period)


def _download(content: str, media: str, name: str) -> Response:
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/staff/compliance/report.html")
def compliance_html(request: Request, principal: CompliancePage, session: SessionDep,
                    specs: SpecsDep, since: str | None = Query(None, max_length=40),
                    until: str | None = Query(None, max_length=40)) -> Response:
    """The printable document (the same file `make compliance-report` writes)."""
    report = _report(request, principal, session, specs, since, until,
                     "compliance_report_html")
    return _download(service.render_html(report), "text/html; charset=utf-8",
                     f"compliance-report-{report.lang}.html")


@router.get("/staff/compliance/report.json")
def compliance_json(request: Request, principal: CompliancePage, session: SessionDep,
                    specs: SpecsDep, since: str | None = Query(None, max_length=40),
                    until: str | None = Query(None, max_length=40)) -> Response:
    report = _report(request, principal, session, specs, since, until,
                     "compliance_report_json")
    return _download(service.to_json(report), "application/json",
                     f"compliance-report-{report.lang}.json")
