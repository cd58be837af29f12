"""Staff pages: sign-in/out, risk list, customer view with its retention task."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from serving import deps
from serving.auth.principal import Principal
from serving.auth.users import display_names
from serving.config import Settings
from serving.customers import service as customers
from serving.deps import HostDep, SessionDep, SettingsDep, SpecsDep
from serving.errors import Conflict, DomainError, InvalidInput
from serving.modelhost import ModelHost
from serving.recourse import service as recourse
from serving.retention import service as retention
from serving.retention.schemas import (
    CHANNELS,
    OUTCOMES,
    SORTS,
    CompleteRequest,
    ContactAttemptCreate,
    RetentionTaskPublic,
)
from serving.scoring import service as scoring
from serving.scoring.schemas import customer_id_ok
from serving.scoring.service import get_prediction
from serving.specs import SpecCache
from serving.staff import service as staff
from serving.web import views
from serving.web.core import (
    AgentPage,
    Form,
    PageRoute,
    StaffPage,
    flash,
    form_body,
    form_keeping,
    page_lang,
    render,
    safe_next,
    staff_sign_in,
    web,
)
from serving.web.core import sign_out as end_session
from serving.web.i18n import translator

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 25
BANDS = ("high", "medium", "low")


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def home_for(principal: Principal | None) -> str:
    if principal is None or principal.kind != "staff":
        return "/staff/sign-in"
    if principal.role == "reviewer":
        return "/staff/reviews"
    if principal.role == "auditor":  # a third party: aggregate figures only
        return "/staff/analytics"
    return "/staff/risk"


# -- sign-in ----------------------------------------------------------------------------------
@router.get("/staff")
def staff_home(request: Request) -> Response:
    return see_other(home_for(web(request).principal()))


@router.get("/staff/sign-in")
def sign_in_page(request: Request, next: str | None = None) -> Response:
    return render(request, "staff/sign_in.html", next=safe_next(next, ""), error=None)


@router.post("/staff/sign-in")
def sign_in(request: Request, form: Form) -> Response:
    token = str(form.get("token") or "")
    nxt = str(form.get("next") or "")
    if not staff_sign_in(request, token):
        t = translator(page_lang(request))
        return render(request, "staff/sign_in.html", status_code=401,
                      next=safe_next(nxt, ""), error=t("s_bad_token"))
    principal = web(request).principal()
    return see_other(safe_next(nxt, home_for(principal)))


@router.post("/staff/sign-out")
def sign_out(request: Request, form: Form) -> Response:
    end_session(request)
    return see_other("/staff/sign-in")


# -- risk list --------------------------------------------------------------------------------
@router.get("/staff/risk")
def risk_list(
    request: Request,
    principal: AgentPage,
    session: SessionDep,
    specs: SpecsDep,
    settings: SettingsDep,
    band: str | None = Query(None),
    task: str | None = Query(None),
    cursor: str | None = Query(None),
    sort: str | None = Query(None),
    mine: str | None = Query(None),
    q: str | None = Query(None),
) -> Response:
    band = band if band in BANDS else None
    task = task if task in retention.TASK_FILTERS else None
    # under uplift targeting the queue is ranked by what a call is worth (issue 17)
    uplift_on = getattr(request.app.state, "uplift", None) is not None
    default = retention.default_sort(uplift_on)
    sort = sort if sort in SORTS else default
    sorts = [s_ for s_ in SORTS if s_ != "value" or uplift_on or sort == "value"]
    mine_ = mine == "1"
    lang = page_lang(request)
    t = translator(lang)
    search = None
    if q is not None and q.strip():
        # a customer id typed by the agent: found by its pseudonym, or said plainly why not
        wanted = q.strip()
        if not customer_id_ok(wanted):
            search = t("q_bad", rule=t("q_rule"))
        else:
            ref = retention.find_customer(session, settings, wanted)
            if ref is not None:
                return see_other(f"/staff/customers/{ref}")
            search = t("q_unknown", id=wanted)
    page = retention.risk_list(session, specs, band, PAGE_SIZE, cursor or None, lang,
                               task=task, reader=principal, via="web", sort=sort, mine=mine_,
                               handled_days=settings.task_handled_days)
    names = display_names(session, [i.claimed_by for i in page.items])
    # the arm, for an admin (who alone is shown held-out customers on this list)
    arms = retention.arms_shown(session, [i.prediction_id for i in page.items], principal)
    rows = [{"item": i, "task_status": i.task_status, "arm": arms.get(i.prediction_id),
             "claimed_by": names.get(i.claimed_by or "", i.claimed_by)} for i in page.items]
    base = {k: v for k, v in (("band", band), ("task", task),
                              ("sort", sort if sort != default else None),
                              ("mine", "1" if mine_ else None)) if v}
    next_url = None
    if page.next_cursor:
        next_url = "/staff/risk?" + urlencode(base | {"cursor": page.next_cursor})
    sort_urls = {s_: "/staff/risk?" + urlencode({k: v for k, v in base.items() if k != "sort"}
                                                | ({"sort": s_} if s_ != default else {}))
                 for s_ in sorts}
    mine_url = "/staff/risk?" + urlencode({k: v for k, v in base.items() if k != "mine"}
                                          | ({} if mine_ else {"mine": "1"}))
    return render(request, "staff/risk.html", rows=rows, band=band, task=task,
                  bands=BANDS, next_url=next_url, paged=bool(cursor), principal=principal,
                  sort=sort, sorts=sorts, sort_urls=sort_urls, mine=mine_, mine_url=mine_url,
                  default_sort=default,
                  first_url="/staff/risk?" + urlencode(base), q=q or "", search=search,
                  counts=retention.counts(session, principal),
                  handled_days=settings.task_handled_days)


# -- customer view ----------------------------------------------------------------------------
@router.get("/staff/customers/{ref}")
def customer_view(request: Request, ref: str, principal: StaffPage, session: SessionDep,
                  specs: SpecsDep, host: HostDep, settings: SettingsDep) -> Response:
    if not retention.customer_held(session, ref) and customer_id_ok(ref):
        # a raw customer id in the address (pasted by an agent): its pseudonym's page
        found = retention.find_customer(session, settings, ref)
        if found is not None:
            return see_other(f"/staff/customers/{found}")
    return _customer_page(request, ref, principal, session, specs, host, settings)


def _customer_page(request: Request, ref: str, principal: Principal, session: Session,
                  specs: SpecCache, host: ModelHost, settings: Settings,
                  forms: dict[str, dict[str, Any]] | None = None,
                  status_code: int = 200) -> Response:
    """The customer page (its read audited); `forms`: a task form shown again as it was
    posted, by its name ("complete", "attempt"): its `state` (what was typed) and its
    `errors` (by field, in the page's language)."""
    customer = customers.viewed_by_staff(session, ref, principal)
    lang = page_lang(request)
    latest = None
    chart = None
    data: list[dict[str, Any]] = []
    factors: list[dict[str, Any]] = []
    if customer.latest_prediction_id:
        # an agent reads the route without the control draw (serving/loop/control.py)
        latest = get_prediction(session, specs, customer.latest_prediction_id, principal, lang,
                                settings.control_fraction)
        spec = specs.get(session, latest.model.name, latest.model.version)
        chart = views.chart(spec, latest, lang)
        data = views.data_used(spec, {c.feature: c.value for c in latest.contributions}, lang)
        factors = views.factors(spec, latest, lang)
    task = retention.current_task(session, ref)
    attempts = retention.attempts_of(session, task.id) if task else []
    agents = [u for u in staff.list_users(session).items
              if u.active and u.role in ("agent", "admin")]
    names = display_names(session, ([task.claimed_by, task.completed_by] if task else [])
                          + [a.agent for a in attempts])
    return render(
        request, "staff/customer.html", status_code=status_code, forms=forms or {},
        customer=customer, latest=latest,
        chart=chart, data=data, factors=factors[:5], task=task,
        recourse=recourse.for_page(session, host, ref, lang),
        history=scoring.history(session, ref), outcomes=OUTCOMES, principal=principal,
        names=names, attempts=attempts, channels=CHANNELS, agents=agents,
        voice=retention.customer_voice(session, specs, ref, lang),
        overdue=retention.overdue(task.due_at, task.status) if task else False,
        last_contact=retention.last_contact(session, ref),
        call_value=retention.task_call_value(session, task),
        arm=retention.arm_shown(session, customer.latest_prediction_id, principal),
    )


@router.post("/staff/customers/{ref}/access-link")
def send_link(request: Request, ref: str, principal: StaffPage, form: Form,
              session: SessionDep, settings: SettingsDep) -> Response:
    """Send the customer a fresh link at their contact address: staff see neither."""
    customers.record(session, ref)
    t = translator(page_lang(request))
    try:
        customers.send_link_to(session, settings, ref, principal)
    except Conflict as exc:
        flash(request, t("s_link_not_sent", detail=exc.detail))
    else:
        flash(request, t("s_link_sent"))
    return see_other(f"/staff/customers/{ref}")


# -- retention task ---------------------------------------------------------------------------
def _back(form: FormData, ref: str) -> str:
    return safe_next(str(form.get("back") or ""), f"/staff/customers/{ref}")


@dataclass(frozen=True)
class TaskForm:
    """A task form posted from the customer page, with what its service call needs."""

    request: Request
    task_id: str
    principal: Principal
    form: FormData
    session: Session
    specs: SpecCache


# the note is shown again as typed, its error by it (a NUL too: `form_body`)
TaskFormData = Annotated[FormData, Depends(form_keeping("note"))]


def _task_form(request: Request, task_id: str, principal: AgentPage, form: TaskFormData,
               session: SessionDep, specs: SpecsDep) -> TaskForm:
    return TaskForm(request, task_id, principal, form, session, specs)


TaskFormDep = Annotated[TaskForm, Depends(_task_form)]


def _task_action(f: TaskForm, service: Callable[..., RetentionTaskPublic], args: tuple,
                 refused: str, done: Callable[[Callable[..., str]], str], *,
                 errors: tuple[type[DomainError], ...] = (Conflict,)) -> Response:
    """One task form of the customer page (claim, release, reassign, attempt, complete):
    the same call as the API's, its outcome flashed, back where the agent was.

    `service(session, specs, task_id, *args, principal, lang)`: a refusal among `errors`
    flashed with `refused` and its detail, success with `done(t)`. (A form its schema
    refuses is not tried: `_form_again` shows it again.)"""
    ref = str(f.form.get("ref") or "")
    lang = page_lang(f.request)
    t = translator(lang)
    back = _back(f.form, ref) if ref else "/staff/risk"
    try:
        task = service(f.session, f.specs, f.task_id, *args, f.principal, lang)
    except errors as exc:
        flash(f.request, t(refused, detail=exc.detail))
        return see_other(back)
    flash(f.request, done(t))
    return see_other(_back(f.form, task.customer_ref))


def _form_again(f: TaskForm, name: str, state: dict[str, Any],
                errors: dict[str, str]) -> Response:
    """A task form its rules refused, shown again on the customer page as it was posted,
    each error by its field (422): nothing typed is lost."""
    ref = str(f.form.get("ref") or "")
    request = f.request
    if not ref:  # not posted from a customer page: said, back to the list
        flash(request, " ".join(errors.values()))
        return see_other("/staff/risk")
    return _customer_page(request, ref, f.principal, f.session, f.specs, deps.host(request),
                         deps.settings(request), {name: {"state": state, "errors": errors}},
                         status_code=422)


@router.post("/staff/tasks/{task_id}/claim")
def claim_task(f: TaskFormDep) -> Response:
    return _task_action(f, retention.claim, (), "s_not_claimed", lambda t: t("s_claimed_done"))


def _checked_task_form(f: TaskForm, name: str, model: type[BaseModel], state: dict[str, Any],
                       needs: dict[str, str], service: Callable[..., RetentionTaskPublic],
                       refused: str, done: Callable[[Callable[..., str]], str]) -> Response:
    """A task form with a body (outcome, attempt): the API's request built from `state` by
    its schema's rules; refused, the form shown again as typed with each error by its field
    (`needs`: what a field needs, by its translation key); else `_task_action`."""
    t = translator(page_lang(f.request))
    body, errors = form_body(model, t, {k: t(v) for k, v in needs.items()}, **state)
    if body is None:
        return _form_again(f, name, state, errors)
    return _task_action(f, service, (body,), refused, done)


@router.post("/staff/tasks/{task_id}/complete")
def complete_task(f: TaskFormDep) -> Response:
    """The task's outcome from the customer page: the same request as the API's."""
    state = {"outcome": str(f.form.get("outcome") or ""), "note": str(f.form.get("note") or "")}
    return _checked_task_form(
        f, "complete", CompleteRequest, state, {"outcome": "s_e_outcome"}, retention.complete,
        "s_not_completed", lambda t: t("s_completed", outcome=t("outcome_" + state["outcome"])))


@router.post("/staff/tasks/{task_id}/attempts")
def add_attempt(f: TaskFormDep) -> Response:
    """A contact attempt from the customer page: the same request as the API's."""
    state = {"channel": str(f.form.get("channel") or ""),
             "reached": f.form.get("reached") == "1", "note": str(f.form.get("note") or "")}
    return _checked_task_form(
        f, "attempt", ContactAttemptCreate, state, {"channel": "att_e_channel"},
        retention.attempt, "att_not", lambda t: t("att_done", channel=t("ch_" + state["channel"])))


@router.post("/staff/tasks/{task_id}/release")
def release_task(f: TaskFormDep) -> Response:
    """Give a claimed task back to the queue (its claimant, or an admin)."""
    return _task_action(f, retention.release, (), "rel_not", lambda t: t("rel_done"))


@router.post("/staff/tasks/{task_id}/reassign")
def reassign_task(f: TaskFormDep) -> Response:
    """Hand a task to another agent (its claimant, or an admin for any task)."""
    to = str(f.form.get("to") or "")
    return _task_action(f, retention.reassign, (to,), "rea_not",
                        lambda t: t("rea_done", name=display_names(f.session, [to]).get(to, to)),
                        errors=(Conflict, InvalidInput))
