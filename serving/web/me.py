"""Customer self-service pages (FR/EN): the prediction in plain words, contest, object.

A customer arrives with a signed access link; the token is exchanged for a session
cookie scoped to their pseudonym and the browser is sent to a URL without it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from serving import deps
from serving.auth.principal import Principal
from serving.auth.tokens import LinkInvalid, read_link
from serving.customers import service as customers
from serving.errors import InvalidInput, NotFound
from serving.scoring.service import get_prediction
from serving.specs import SpecCache
from serving.storage.tables import Prediction
from serving.web import contest, views
from serving.web.core import (
    PageError,
    PageRoute,
    checked_form,
    customer_page,
    flash,
    page_lang,
    render,
    web,
)
from serving.web.i18n import translator

router = APIRouter(route_class=PageRoute, include_in_schema=False)
STATEMENT_MAX = 2000


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _exchange(request: Request, token: str) -> bool:
    settings = request.app.state.settings
    client = request.client.host if request.client else "unknown"
    if request.app.state.limits.client.hit(client) is not None:
        t = translator(page_lang(request))
        raise PageError(429, t("err_429_title"), t("err_429_text"))
    try:
        ref = read_link(token.strip(), settings.link_signing_secret)
    except LinkInvalid:
        return False
    web(request).renew(kind="customer", customer_ref=ref)
    return True


def _access_page(request: Request, error: bool = False) -> Response:
    return render(request, "me/access.html", status_code=401 if error else 200, error=error)


@router.get("/me")
def me_page(request: Request, session: Session = Depends(deps.session),
            specs: SpecCache = Depends(deps.specs)) -> Response:
    token = request.query_params.get("token")
    if token:
        if not _exchange(request, token):
            return _access_page(request, error=True)
        return see_other("/me")
    sess = web(request)
    if sess.kind != "customer":
        if sess.kind == "staff":
            raise PageError(403, translator(page_lang(request))("err_403_title"),
                            "These pages are for customers, through their own link.")
        return _access_page(request)
    principal = customer_page(request)
    lang = page_lang(request)
    return render(request, "me/index.html", **_me_context(request, session, specs, principal, lang))


@router.post("/me/session")
def me_session(request: Request, form: FormData = Depends(checked_form)) -> Response:
    if not _exchange(request, str(form.get("token") or "")):
        return _access_page(request, error=True)
    return see_other("/me")


@router.post("/me/sign-out")
def me_sign_out(request: Request, form: FormData = Depends(checked_form)) -> Response:
    web(request).set(clear=True)
    return see_other("/me")


def _latest(session: Session, specs: SpecCache, principal: Principal,
            lang: str) -> tuple[Any, Any, Any]:
    """(customer record, latest prediction explained, its stored row) or Nones."""
    try:
        me = customers.me(session, principal)
    except NotFound:
        return None, None, None
    if not me.latest_prediction_id:
        return me, None, None
    pred = get_prediction(session, specs, me.latest_prediction_id, principal, lang)
    row = session.get(Prediction, me.latest_prediction_id)
    return me, pred, row


def _me_context(request: Request, session: Session, specs: SpecCache, principal: Principal,
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
        ctx["factors"] = views.factors(spec, pred, lang)[:5]
        ctx["chart"] = views.chart(spec, pred, lang, chart_id="me-chart", top=8)
    return ctx


# -- contest ----------------------------------------------------------------------------------
def _contest_fields(session: Session, specs: SpecCache, row: Prediction, pred: Any,
                    lang: str) -> list[dict[str, Any]]:
    """One entry per feature, the prediction's main factors first."""
    spec = specs.get(session, row.model_name, row.model_version)
    values = json.loads(row.features)
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
                  status_code: int = 200) -> Response:
    lang = page_lang(request)
    me, pred, row = _latest(session, specs, principal, lang)
    if pred is None or row is None:
        raise PageError(404, translator(lang)("err_404_title"), translator(lang)("me_none"))
    state = state or {"wrong": [], "values": {}, "statement": "", "human": True}
    state.setdefault("idem", uuid.uuid4().hex)
    return render(request, "me/contest.html", status_code=status_code, pred=pred,
                  fields=_contest_fields(session, specs, row, pred, lang), state=state,
                  errors=errors or {}, statement_max=STATEMENT_MAX)


@router.get("/me/contest")
def contest_form(request: Request, principal: Principal = Depends(customer_page),
                 session: Session = Depends(deps.session),
                 specs: SpecCache = Depends(deps.specs)) -> Response:
    return _contest_page(request, session, specs, principal)


def validate_contest(form: FormData, spec: Any, values: dict[str, Any], t: Any,
                     ) -> tuple[dict[str, Any], dict[str, str], list[dict[str, Any]]]:
    """(what was typed, errors by field, contested features) from the posted form."""
    wrong = [str(w) for w in form.getlist("wrong") if str(w) in spec.feature_names]
    typed = {f: str(form.get(f"value-{f}") or "") for f in spec.feature_names
             if form.get(f"value-{f}")}
    statement = str(form.get("statement") or "")
    state = {"wrong": wrong, "values": typed, "statement": statement,
             "human": form.get("human") == "yes", "idem": str(form.get("idem") or "")[:80]}
    errors: dict[str, str] = {}
    contested = []
    for name in wrong:
        value, problem = views.parse_value(spec, name, typed.get(name, ""), t,
                                           current=values.get(name))
        if problem:
            errors[name] = problem
        else:
            contested.append({"feature": name, "claimed_value": value})
    if len(statement) > STATEMENT_MAX:
        errors["statement"] = t("e_too_long", n=STATEMENT_MAX, m=len(statement))
    if not wrong and not statement.strip():
        errors["form"] = t("e_need_something")
    return state, errors, contested


@router.post("/me/contest")
def contest_submit(request: Request, principal: Principal = Depends(customer_page),
                   form: FormData = Depends(checked_form),
                   session: Session = Depends(deps.session),
                   specs: SpecCache = Depends(deps.specs)) -> Response:
    lang = page_lang(request)
    t = translator(lang)
    me, pred, row = _latest(session, specs, principal, lang)
    if pred is None or row is None:
        raise PageError(404, t("err_404_title"), t("me_none"))
    spec = specs.get(session, row.model_name, row.model_version)
    state, errors, contested = validate_contest(form, spec, json.loads(row.features), t)
    if errors:
        return _contest_page(request, session, specs, principal, state, errors, 422)
    key = str(form.get("idem") or "")[:80] or uuid.uuid4().hex
    try:
        made = contest.create_dispute(request, session, principal, pred.prediction_id,
                                      contested, state["statement"].strip(), state["human"],
                                      key, lang)
    except InvalidInput as exc:  # the service's own checks, shown next to the fields
        session.rollback()
        for e in exc.extra.get("errors") or []:
            name = e.get("field")
            if name in spec.feature_names:
                errors[name] = f"{e.get('problem')} ({e.get('expected')})"
        errors.setdefault("form", exc.detail)
        return _contest_page(request, session, specs, principal, state, errors, 422)
    return see_other(f"/me/disputes/{made.id}?new=1")


@router.get("/me/disputes/{dispute_id}")
def dispute_status(request: Request, dispute_id: str,
                   principal: Principal = Depends(customer_page),
                   session: Session = Depends(deps.session),
                   specs: SpecCache = Depends(deps.specs)) -> Response:
    lang = page_lang(request)
    d = contest.dispute(request, session, principal, dispute_id, lang)
    latest = None
    spec = None
    pid = d.prediction_id
    if pid:
        row = session.get(Prediction, pid)
        if row is not None and row.customer_ref == principal.customer_ref:
            spec = specs.get(session, row.model_name, row.model_version)
    contested = [
        {"label": c.label,
         "claimed": views.display_value(spec, c.feature, c.claimed_value, lang)
         if spec else c.claimed_value}
        for c in d.contested
    ]
    factors: list[dict[str, Any]] = []
    if d.decision == "rectified" and d.new_prediction_id:
        latest = get_prediction(session, specs, d.new_prediction_id, principal, lang)
        new_spec = specs.get(session, latest.model.name, latest.model.version)
        factors = views.factors(new_spec, latest, lang)[:5]
    return render(request, "me/dispute.html", d=d, contested=contested, new=latest,
                  factors=factors, just_sent=request.query_params.get("new") == "1")


# -- objection --------------------------------------------------------------------------------
@router.get("/me/object")
def object_confirm(request: Request, principal: Principal = Depends(customer_page)) -> Response:
    return render(request, "me/object.html")


@router.post("/me/object")
def object_submit(request: Request, principal: Principal = Depends(customer_page),
                  form: FormData = Depends(checked_form),
                  session: Session = Depends(deps.session)) -> Response:
    contest.object_to_profiling(request, session, principal)
    flash(request, translator(page_lang(request))("object_done"))
    return see_other("/me")


@router.post("/me/object/withdraw")
def object_withdraw(request: Request, principal: Principal = Depends(customer_page),
                    form: FormData = Depends(checked_form),
                    session: Session = Depends(deps.session)) -> Response:
    contest.withdraw_objection(request, session, principal)
    flash(request, translator(page_lang(request))("withdrawn_done"))
    return see_other("/me")
