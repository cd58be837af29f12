"""Customer self-service pages (FR/EN): the prediction in plain words, contest, object.

A customer arrives with a signed access link; the token is exchanged for a session
cookie scoped to their pseudonym and the browser is sent to a URL without it.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from annotated_types import MaxLen
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from models import ModelSpec
from serving import deps
from serving.auth.principal import Principal
from serving.customers import service as customers
from serving.deps import HostDep, SessionDep, SpecsDep
from serving.disputes.schemas import DisputeCreate
from serving.errors import FieldError, InvalidInput, NotFound, from_validation
from serving.recourse import service as recourse
from serving.scoring.schemas import PredictionPublic
from serving.scoring.service import get_prediction
from serving.specs import SpecCache
from serving.web import contest, views
from serving.web.core import (
    CustomerPage,
    Form,
    PageError,
    PageRoute,
    customer_page,
    exchange_link,
    flash,
    form_keeping,
    page_lang,
    render,
    sign_out,
    web,
)
from serving.web.i18n import translator

router = APIRouter(route_class=PageRoute, include_in_schema=False)
# the JSON API's limit: one rulebook
STATEMENT_MAX = next(m.max_length for m in DisputeCreate.model_fields["statement"].metadata
                     if isinstance(m, MaxLen))


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _exchange(request: Request, token: str) -> bool:
    return exchange_link(request, token.strip())


def _access_page(request: Request, error: bool = False, link_token: str = "") -> Response:
    return render(request, "me/access.html", status_code=401 if error else 200, error=error,
                  link_token=link_token)


@router.get("/me")
def me_page(request: Request, session: SessionDep, specs: SpecsDep, host: HostDep) -> Response:
    token = request.query_params.get("token")
    if token:
        # A GET never exchanges the link: the customer presses the button (a POST with the
        # page's CSRF token). Otherwise any page could send a browser to a link of its
        # own and swap the session it holds (a staff member's, or another customer's)
        # for the sender's, and a mail filter that follows links would use them up.
        return _access_page(request, link_token=token.strip())
    sess = web(request)
    if sess.kind != "customer":
        if sess.kind == "staff":
            t = translator(page_lang(request))
            raise PageError(403, t("err_403_title"), t("err_403_staff_only"))
        return _access_page(request)
    principal = customer_page(request)
    lang = page_lang(request)
    return render(request, "me/index.html", **_me_context(session, specs, principal, lang),
                  recourse=recourse.for_page(session, host, principal.customer_ref or "", lang),
                  # issue 17: the page says a control group exists (never who is in it)
                  control_group=deps.settings(request).control_fraction > 0)


@router.post("/me/session")
def me_session(request: Request, form: Form) -> Response:
    if not _exchange(request, str(form.get("token") or "")):
        return _access_page(request, error=True)
    return see_other("/me")


@router.post("/me/sign-out")
def me_sign_out(request: Request, form: Form) -> Response:
    sign_out(request)
    return see_other("/me")


def _me_context(session: Session, specs: SpecCache, principal: Principal,
                lang: str) -> dict[str, Any]:
    """The customer page from the same service as GET /v1/me/prediction: the latest
    prediction still in use, the data it used, its purpose, the rights, the disputes."""
    try:
        mine = customers.my_prediction(session, specs, principal, lang)
    except NotFound:
        return {"me": None, "pred": None, "factors": [], "chart": None, "data": [],
                "purpose": None, "rights": [], "disputes": []}
    pred = mine.prediction
    ctx: dict[str, Any] = {"me": mine, "pred": pred, "factors": [], "chart": None,
                           "data": mine.data_used, "purpose": mine.purpose,
                           "rights": mine.rights,
                           "disputes": [contest.view(d) for d in mine.disputes]}
    if pred is not None:
        spec = specs.get(session, pred.model.name, pred.model.version)
        ctx["factors"] = views.factors(spec, pred, lang, "customer")[:5]
        ctx["chart"] = views.chart(spec, pred, lang, chart_id="me-chart", top=8)
    return ctx


# -- contest ----------------------------------------------------------------------------------
def _contested(session: Session, specs: SpecCache, principal: Principal,
               lang: str) -> tuple[PredictionPublic, ModelSpec]:
    """The prediction a customer can contest (their latest in use) and its model's spec."""
    try:
        pred = customers.latest_prediction(session, specs, principal, lang)
    except NotFound:
        pred = None
    if pred is None:
        t = translator(lang)
        raise PageError(404, t("err_404_title"), t("me_none"))
    return pred, specs.get(session, pred.model.name, pred.model.version)


def _contest_fields(spec: ModelSpec, pred: PredictionPublic, lang: str) -> list[dict[str, Any]]:
    """One entry per feature, the prediction's main factors first."""
    values = {c.feature: c.value for c in pred.contributions}
    order = [c.feature for c in pred.contributions]
    order += [f.name for f in spec.features if f.name not in order]
    out = []
    for name in order:
        field = views.field_for(spec, name, lang)
        field["current"] = values.get(name)
        field["shown"] = spec.feature(name).display_value(values.get(name), lang)
        out.append(field)
    return out


def _contest_page(request: Request, session: Session, specs: SpecCache, principal: Principal,
                  state: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                  problems: dict[str, str] | None = None, status_code: int = 200) -> Response:
    lang = page_lang(request)
    pred, spec = _contested(session, specs, principal, lang)
    state = state or {"wrong": [], "values": {}, "statement": "", "human": True}
    state.setdefault("idem", uuid.uuid4().hex)
    return render(request, "me/contest.html", status_code=status_code, pred=pred,
                  fields=_contest_fields(spec, pred, lang), state=state,
                  errors=errors or {}, problems=problems or {}, statement_max=STATEMENT_MAX)


@router.get("/me/contest")
def contest_form(request: Request, principal: CustomerPage, session: SessionDep,
                 specs: SpecsDep) -> Response:
    return _contest_page(request, session, specs, principal)


def form_state(form: FormData, spec: ModelSpec) -> dict[str, Any]:
    """What was typed, kept to show the form again."""
    return {"wrong": [str(w) for w in form.getlist("wrong") if str(w) in spec.feature_names],
            "values": {f: str(form.get(f"value-{f}") or "") for f in spec.feature_names
                       if form.get(f"value-{f}")},
            "statement": str(form.get("statement") or ""),
            "human": form.get("human") == "yes", "idem": str(form.get("idem") or "")[:80]}


def dispute_body(pred: PredictionPublic, spec: ModelSpec, state: dict[str, Any]) -> Any:
    """The JSON API's body (`DisputeCreate`) from the form; pydantic's errors as the
    JSON API would name them."""
    raw = {"prediction_id": pred.prediction_id, "statement": state["statement"].strip(),
           "wants_human_review": state["human"],
           "contested_features": [
               {"feature": name,
                "claimed_value": views.typed_value(spec, name, state["values"].get(name, ""))}
               for name in state["wrong"]]}
    try:
        return DisputeCreate.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput.naming("the form does not fit the request schema",
                                  from_validation(exc.errors(), prefix=("body",))) from None


def _form_field(error: FieldError, wrong: list[str]) -> str:
    """The form field an error of the JSON body belongs to."""
    loc = error.loc
    if loc[:2] == ["body", "contested_features"] and len(loc) > 2 \
            and isinstance(loc[2], int) and loc[2] < len(wrong):
        return wrong[loc[2]]
    if loc[:2] == ["body", "statement"]:
        return "statement"
    return "form"


def form_errors(exc: InvalidInput, state: dict[str, Any], t: Any,
                spec: ModelSpec) -> tuple[dict[str, str], dict[str, str]]:
    """The service's field errors on the form's fields: (message, problem code) by field."""
    messages: dict[str, str] = {}
    problems: dict[str, str] = {}
    for e in exc.field_errors():
        name = _form_field(e, state["wrong"])
        if name not in messages:
            messages[name] = views.message(e, t, spec, n=STATEMENT_MAX,
                                           m=len(state["statement"]))
            problems[name] = e.problem
    return messages or {"form": exc.detail}, problems


# the statement and the values typed are shown again as typed, each error by its field (a
# NUL too: the request schema refuses it, `serving.disputes.schemas.plain`)
ContestForm = Annotated[FormData, Depends(form_keeping("statement", "value-*"))]


@router.post("/me/contest")
def contest_submit(request: Request, principal: CustomerPage, form: ContestForm,
                   session: SessionDep, specs: SpecsDep) -> Response:
    """The same body, service and rules as POST /v1/disputes; its errors shown by the
    fields, in the page's language."""
    lang = page_lang(request)
    pred, spec = _contested(session, specs, principal, lang)
    state = form_state(form, spec)
    key = state["idem"] or uuid.uuid4().hex
    try:
        made = contest.create_dispute(session, specs, principal,
                                      dispute_body(pred, spec, state), key, lang)
    except InvalidInput as exc:
        session.rollback()
        errors, problems = form_errors(exc, state, translator(lang), spec)
        return _contest_page(request, session, specs, principal, state, errors, problems, 422)
    return see_other(f"/me/disputes/{made.id}?new=1")


@router.get("/me/disputes/{dispute_id}")
def dispute_status(request: Request, dispute_id: str, principal: CustomerPage,
                   session: SessionDep, specs: SpecsDep) -> Response:
    lang = page_lang(request)
    d = contest.dispute(session, specs, principal, dispute_id, lang)
    latest = None
    spec = None
    if d.prediction_id:
        try:
            contested = get_prediction(session, specs, d.prediction_id, principal, lang)
            spec = specs.get(session, contested.model.name, contested.model.version)
        except NotFound:
            spec = None
    claims = [
        {"label": c.label,
         "claimed": views.display_value(spec, c.feature, c.claimed_value, lang)
         if spec else c.claimed_value}
        for c in d.contested
    ]
    factors: list[dict[str, Any]] = []
    if d.decision == "rectified" and d.new_prediction_id:
        latest = get_prediction(session, specs, d.new_prediction_id, principal, lang)
        new_spec = specs.get(session, latest.model.name, latest.model.version)
        factors = views.factors(new_spec, latest, lang, "customer")[:5]
    return render(request, "me/dispute.html", d=d, contested=claims, new=latest,
                  factors=factors, just_sent=request.query_params.get("new") == "1",
                  rationale_lang=views.text_lang(d.rationale))


# -- objection --------------------------------------------------------------------------------
@router.get("/me/object")
def object_confirm(request: Request, principal: CustomerPage) -> Response:
    return render(request, "me/object.html")


def _back_to_me(request: Request, done: str) -> Response:
    """Back to the customer's page, saying what was done (`done`: a message key)."""
    flash(request, translator(page_lang(request))(done))
    return see_other("/me")


@router.post("/me/object")
def object_submit(request: Request, principal: CustomerPage, form: Form,
                  session: SessionDep) -> Response:
    contest.object_to_profiling(session, principal, deps.settings(request))
    return _back_to_me(request, "object_done")


@router.post("/me/object/withdraw")
def object_withdraw(request: Request, principal: CustomerPage, form: Form,
                    session: SessionDep) -> Response:
    contest.withdraw_objection(session, principal)
    return _back_to_me(request, "withdrawn_done")
