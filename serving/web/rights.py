"""Rights pages (issue 18), in English and French, working without JavaScript.

Customer side: their own copy (a printable page, a downloadable HTML document and JSON),
their rights requests (make one, follow it, cancel it), the erasure request with its
confirmation, and whom to write to or complain to. Staff side (reviewer, admin): the
requests, overdue ones first and marked, to take, extend (with the reason) and answer.
The pages call the same services as the JSON API (`serving.rights`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError
from starlette.datastructures import FormData

from serving import deps
from serving.auth.principal import Principal
from serving.deps import SessionDep, SpecsDep
from serving.errors import Conflict, DomainError
from serving.rights import contacts
from serving.rights import copy as access_copy
from serving.rights import service as rights
from serving.rights.schemas import (
    RightsClose,
    RightsExtend,
    RightsRequestCreate,
)
from serving.web.core import (
    CustomerPage,
    Form,
    PageRoute,
    ReviewerPage,
    flash,
    form_body,
    form_keeping,
    nul_errors,
    page_lang,
    render,
    templates,
)
from serving.web.i18n import translator

router = APIRouter(route_class=PageRoute, include_in_schema=False)
STATIC = Path(__file__).parent / "static"
# what the customer's form offers (access and erasure have their own buttons and page)
FORM_KINDS = ("rectification", "restriction", "objection")
STAFF_FILTERS = ("open", "overdue", "closed", "all")
# the text typed in these forms is shown again as typed, its error by it (a NUL too)
RequestForm = Annotated[FormData, Depends(form_keeping("details"))]
AnswerForm = Annotated[FormData, Depends(form_keeping("reason", "outcome"))]


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def privacy_contacts(request: Request, lang: str) -> dict[str, Any]:
    """The DPO and the supervisory authority for the page's language (a template global:
    the customer page shows them without its route knowing)."""
    settings = deps.settings(request)
    return {"dpo": contacts.dpo(settings, lang), "authority": contacts.authority(settings, lang)}


templates.env.globals["privacy_contacts"] = privacy_contacts


# -- the customer's copy ----------------------------------------------------------------------
def _copy_context(request: Request, session: Any, specs: Any, principal: Principal) -> dict:
    lang = page_lang(request)
    made = access_copy.build(session, specs, deps.settings(request), principal, lang,
                             host=deps.host(request))
    rights.copy_delivered(session, principal)
    return {"c": made, "lang": lang}


@router.get("/me/copy")
def copy_page(request: Request, principal: CustomerPage, session: SessionDep,
              specs: SpecsDep) -> Response:
    """The copy as a page that prints well; `?download=1`: the same as a standalone HTML
    file (its style inside: it reads the same opened from the disk)."""
    ctx = _copy_context(request, session, specs, principal)
    if request.query_params.get("download") == "1":
        css = (STATIC / "copy.css").read_text(encoding="utf-8")
        response = render(request, "me/copy.html", standalone=True, inline_css=Markup(css),
                          **ctx)
        name = f"my-data-{ctx['c'].generated_at:%Y-%m-%d}.html"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    return render(request, "me/copy.html", standalone=False, **ctx)


@router.get("/me/copy.json")
def copy_json(request: Request, principal: CustomerPage, session: SessionDep,
              specs: SpecsDep) -> Response:
    """The copy as data (JSON), to download."""
    ctx = _copy_context(request, session, specs, principal)
    made = ctx["c"]
    return Response(access_copy.as_json(made), media_type="application/json",
                    headers={"Content-Disposition":
                             f'attachment; filename="my-data-{made.generated_at:%Y-%m-%d}.json"'})


# -- the customer's requests ------------------------------------------------------------------
def _rights_page(request: Request, session: Any, principal: Principal,
                 errors: dict[str, str] | None = None, state: dict[str, str] | None = None,
                 status_code: int = 200) -> Response:
    mine = rights.mine(session, principal)
    return render(request, "me/rights.html", status_code=status_code, requests=mine.items,
                  kinds=FORM_KINDS, errors=errors or {},
                  state=state or {"kind": "", "details": ""},
                  wait_days=deps.settings(request).erasure_wait_days)


@router.get("/me/rights")
def rights_page(request: Request, principal: CustomerPage, session: SessionDep) -> Response:
    return _rights_page(request, session, principal)


@router.post("/me/rights")
def rights_submit(request: Request, principal: CustomerPage, form: RequestForm,
                  session: SessionDep, specs: SpecsDep) -> Response:
    """The same body and service as POST /v1/me/rights-requests."""
    t = translator(page_lang(request))
    state = {"kind": str(form.get("kind") or ""), "details": str(form.get("details") or "")}
    errors = nul_errors(t, details=state["details"])  # the API's edge refuses it too
    if state["kind"] not in FORM_KINDS:
        errors = {"kind": t("rights_pick_kind")} | errors
    if errors:
        return _rights_page(request, session, principal, errors, state, 422)
    try:
        body = RightsRequestCreate(kind=state["kind"], details=state["details"])
    except ValidationError:
        return _rights_page(request, session, principal,
                            {"details": t("rights_details_long")}, state, 422)
    try:
        made = rights.open_request(session, deps.settings(request), specs, principal, body,
                                   lang=page_lang(request))
    except Conflict:
        session.rollback()
        return _rights_page(request, session, principal, {"kind": t("rights_already_open")},
                            state, 409)
    if made.status == "done":
        flash(request, t("rights_sent_done"))
    else:
        flash(request, t("rights_sent", due=_date(made.deadline, page_lang(request))))
    return see_other("/me/rights")


def _date(value: Any, lang: str) -> str:
    return value.strftime("%d/%m/%Y") if lang == "fr" else value.strftime("%Y-%m-%d")


@router.post("/me/rights/{request_id}/cancel")
def rights_cancel(request: Request, request_id: str, principal: CustomerPage, form: Form,
                  session: SessionDep) -> Response:
    rights.cancel(session, deps.settings(request), principal, request_id)
    flash(request, translator(page_lang(request))("rights_cancelled"))
    return see_other("/me/rights")


@router.get("/me/erase")
def erase_confirm(request: Request, principal: CustomerPage) -> Response:
    return render(request, "me/erase.html", error=None,
                  wait_days=deps.settings(request).erasure_wait_days)


@router.post("/me/erase")
def erase_submit(request: Request, principal: CustomerPage, form: Form, session: SessionDep,
                 specs: SpecsDep) -> Response:
    """An erasure request, once the customer has ticked that they understand."""
    lang = page_lang(request)
    t = translator(lang)
    settings = deps.settings(request)
    if form.get("understood") != "yes":
        return render(request, "me/erase.html", status_code=422, error=t("erase_tick"),
                      wait_days=settings.erasure_wait_days)
    try:
        made = rights.open_request(session, settings, specs, principal,
                                   RightsRequestCreate(kind="erasure"), lang=lang)
    except Conflict:
        session.rollback()
        flash(request, t("rights_already_open"))
        return see_other("/me/rights")
    flash(request, t("erase_sent", when=_date(made.carry_out_at or made.deadline, lang)))
    return see_other("/me/rights")


# -- staff ------------------------------------------------------------------------------------
def _staff_rights_page(request: Request, session: Any, principal: Principal, status: str,
                       typed: dict[str, Any] | None = None,
                       status_code: int = 200) -> Response:
    """The requests (`status`: the filter); `typed`: a form its rules refused, shown again
    open on its request's row as it was posted (its `request_id`, `field`, `text` and
    `error`, in the page's language)."""
    status = status if status in STAFF_FILTERS else "open"
    listed = rights.listing(session, status, reader=principal, via="staff page")
    return render(request, "staff/rights.html", status_code=status_code, items=listed.items,
                  overdue=listed.overdue, status=status, filters=STAFF_FILTERS, error=None,
                  typed=typed or {})


@router.get("/staff/rights")
def staff_rights(request: Request, principal: ReviewerPage, session: SessionDep,
                 status: str = "open") -> Response:
    return _staff_rights_page(request, session, principal, status)


@router.post("/staff/rights/{request_id}")
def staff_rights_act(request: Request, request_id: str, principal: ReviewerPage,
                     form: AnswerForm, session: SessionDep) -> Response:
    """Take, extend (with the reason) or answer a request, through the same service as
    the API; a reason or an answer its schema refuses is shown again as typed, the error
    by it (422); a refusal of the service (already closed, too late to extend) flashed."""
    t = translator(page_lang(request))
    settings = deps.settings(request)
    action = str(form.get("action") or "")
    listed = str(form.get("status") or "open")
    back = f"/staff/rights?status={listed}"
    field = "reason" if action == "extend" else "outcome"
    body: RightsExtend | RightsClose | None = None
    errors: dict[str, str] = {}
    if action == "extend":
        body, errors = form_body(RightsExtend, t, {"reason": t("staff_rights_reason")},
                                 reason=str(form.get("reason") or ""))
    elif action in ("done", "refused"):
        body, errors = form_body(RightsClose, t, {"outcome": t("staff_rights_outcome")},
                                 status=action, outcome=str(form.get("outcome") or ""))
    if errors:
        typed = {"request_id": request_id, "field": field,
                 "text": str(form.get(field) or ""),
                 "error": errors.get(field) or " ".join(errors.values())}
        return _staff_rights_page(request, session, principal, listed, typed, 422)
    try:
        if action == "take":
            rights.take(session, principal, request_id)
            flash(request, t("staff_rights_taken"))
        elif isinstance(body, RightsExtend):
            rights.extend(session, settings, principal, request_id, body)
            flash(request, t("staff_rights_extended"))
        elif isinstance(body, RightsClose):
            rights.close(session, settings, principal, request_id, body)
            flash(request, t("staff_rights_closed"))
        else:
            flash(request, t("staff_rights_unknown"))
    except DomainError as exc:
        session.rollback()
        flash(request, f"{t('staff_rights_refused')} {exc.detail}")
    return see_other(back)
