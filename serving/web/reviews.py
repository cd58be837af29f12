"""Reviewer pages (the dispute queue and the decision with a re-score preview) and the
admin audit page."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Annotated, Any, get_args

from annotated_types import MaxLen
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from models import ModelSpec
from models.reasons import bar_word
from serving import deps
from serving.audit import service as audit
from serving.auth.principal import Principal
from serving.auth.users import display_names
from serving.deps import ServedDep, SessionDep, SpecsDep
from serving.disputes import rules
from serving.disputes.schemas import DecisionCreate, DecisionKind
from serving.errors import Conflict, FieldError, InvalidInput
from serving.reviews.blind import CLAIM_VIEWS, EXPECTED_RISKS
from serving.reviews.schemas import JudgementCreate
from serving.specs import SpecCache
from serving.web import contest, views
from serving.web.core import (
    AdminPage,
    Form,
    PageRoute,
    ReviewerPage,
    flash,
    form_keeping,
    nul_errors,
    page_lang,
    render,
)
from serving.web.i18n import translator
from serving.web.svg import shap_bars

router = APIRouter(route_class=PageRoute, include_in_schema=False)
# the JSON API's rules, one rulebook: its decision choices and rationale limit
DECISIONS: tuple[str, ...] = get_args(DecisionKind)
RATIONALE_MAX = next(m.max_length for m in DecisionCreate.model_fields["rationale"].metadata
                     if isinstance(m, MaxLen))
# the reasons and the corrected values are shown again as typed, each error by its field
DecisionForm = Annotated[FormData, Depends(form_keeping("rationale", "corrected-*"))]


@router.get("/staff/reviews")
def review_queue(request: Request, principal: ReviewerPage, session: SessionDep,
                 specs: SpecsDep, cursor: str | None = None) -> Response:
    items, next_cursor = contest.review_queue(session, specs, principal, cursor or None)
    return render(request, "staff/reviews.html", items=items, principal=principal,
                  next_cursor=next_cursor, paged=bool(cursor))


def _review_context(session: Session, specs: SpecCache, principal: Principal,
                    dispute_id: str, blind: bool = False, lang: str = "en",
                    via: str | None = None) -> dict[str, Any]:
    d = contest.for_review(session, specs, principal, dispute_id, blind, via)
    if d.blind:  # blind-first review: the customer's data and statement, no model view
        return {"d": d, "contested": [{"label": c.label, "claimed": c.claimed_value,
                                       "current": c.value_used} for c in d.contested],
                "risks": EXPECTED_RISKS, "claims": CLAIM_VIEWS}
    pred = d.prediction
    spec = specs.get(session, pred.model.name, pred.model.version)
    values = {c.feature: c.value for c in pred.contributions}
    contested = []
    for c in d.contested:
        try:
            field = views.field_for(spec, c.feature, lang)
        except KeyError:
            continue
        field.update(current=views.display_value(spec, c.feature, values.get(c.feature), lang),
                     claimed=views.display_value(spec, c.feature, c.claimed_value, lang),
                     claimed_raw=c.claimed_value)
        contested.append(field)
    return {"d": d, "pred": pred, "spec": spec, "values": values, "contested": contested,
            "decisions": DECISIONS,
            "factors": views.factors(spec, pred, lang)[:5],
            "chart": views.chart(spec, pred, lang, chart_id="before")}


def _field_errors(errors: list[FieldError], t: Any, spec: ModelSpec,
                  contested: list[dict[str, Any]]) -> dict[str, str]:
    """The rulebook's field errors (the service's, or the same rules applied by the page)
    on the form's fields, in the page's language: the reasons, each corrected value, the
    rest by the decision."""
    fields = {c["name"] for c in contested}
    out: dict[str, str] = {}
    for e in errors:
        loc = e.loc
        if loc[:2] == ["body", "rationale"]:
            key = "rationale"
            text = t("s_e_rationale") if e.problem == rules.EMPTY else views.message(e, t)
        elif loc[:2] == ["body", "corrected_features"] and len(loc) > 2 and loc[2] in fields:
            key, text = f"corrected-{loc[2]}", views.message(e, t, spec)
        else:
            key = "decision"
            text = t("s_e_field", problem=e.problem, expected=e.expected)
        out.setdefault(key, text)
    return out


def _refused(exc: InvalidInput, t: Any, spec: ModelSpec,
             contested: list[dict[str, Any]]) -> dict[str, str]:
    """The service's refusal on the form's fields (its detail when it names none)."""
    return _field_errors(exc.field_errors(), t, spec, contested) or {"decision": exc.detail}


def _raw(value: Any) -> str:
    """A value as a person would type it back into the form (never with an exponent)."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else f"{Decimal(repr(value)):f}"
    return str(value)


@router.get("/staff/reviews/{dispute_id}")
def review_page(request: Request, dispute_id: str, principal: ReviewerPage,
                session: SessionDep, specs: SpecsDep) -> Response:
    ctx = _review_context(session, specs, principal, dispute_id,
                          deps.settings(request).blind_review, page_lang(request),
                          via="staff page")
    if ctx["d"].blind:
        return render(request, "staff/review.html", principal=principal,
                      state={"expected_risk": "", "claim_view": ""}, errors={},
                      preview=None, **ctx)
    state = {"decision": "", "rationale": "",
             "corrected": {c["name"]: _raw(c["claimed_raw"]) for c in ctx["contested"]}}
    return render(request, "staff/review.html", principal=principal, state=state,
                  errors={}, preview=None, **ctx)


@router.post("/staff/reviews/{dispute_id}")
def review_decide(request: Request, dispute_id: str, principal: ReviewerPage,
                  form: DecisionForm, session: SessionDep, specs: SpecsDep,
                  served: ServedDep) -> Response:
    blind = deps.settings(request).blind_review
    ctx = _review_context(session, specs, principal, dispute_id, blind, page_lang(request))
    if ctx["d"].blind:  # no decision before the reviewer's own judgement
        raise Conflict("Record your own judgement of this dispute first: the model's "
                       "score and explanation are shown after it.")
    lang = page_lang(request)
    t = translator(lang)
    sep = "\u00a0: " if lang == "fr" else ": "
    decision = str(form.get("decision") or "")
    rationale = str(form.get("rationale") or "").strip()
    action = str(form.get("action") or "confirm")
    state = {"decision": decision, "rationale": rationale,
             "corrected": {c["name"]: str(form.get(f"corrected-{c['name']}") or "")
                           for c in ctx["contested"]}}
    # a NUL in what the reviewer typed (the API's edge refuses it in any body): by its field
    nul = nul_errors(t, rationale=rationale,
                     **{f"corrected-{k}": v for k, v in state["corrected"].items()})
    errors: dict[str, str] = {}
    corrected: dict[str, Any] = {}
    if decision == "rectified":
        # the body the JSON API takes: each value as typed_value reads it, for the
        # rulebook to judge (an empty one too: None, refused with the API's words)
        corrected = {c["name"]: views.typed_value(ctx["spec"], c["name"],
                                                  state["corrected"][c["name"]])
                     for c in ctx["contested"]}
        if not ctx["contested"]:
            errors["decision"] = t("s_e_no_contested")
    # the rulebook the service applies (disputes.rules), with the served model's spec
    found = rules.correction_errors(served.spec, corrected)
    preview = None
    if action == "preview":  # a dry run: nothing is recorded, the rationale can wait
        if decision != "rectified":
            errors["decision"] = t("s_e_preview_rectified")
        errors |= _field_errors(found, t, served.spec, ctx["contested"]) | nul
        if not errors:
            try:
                preview = contest.preview_rescore(session, specs, served, dispute_id,
                                                  corrected, blind)
            except InvalidInput as exc:
                errors.update(_refused(exc, t, served.spec, ctx["contested"]))
        if preview is not None:
            ctx["after_chart"] = shap_bars(
                preview.contributions, title=t("s_after_chart"), desc=t("chart_desc"),
                other_label=lambda n: t("other_factors", count=n), chart_id="after",
                value_text=lambda v: bar_word(v, lang),
                display=lambda c: f"{c['label']}{sep}"
                + served.spec.feature(c["feature"]).display_value(c["value"], lang))
        return render(request, "staff/review.html", principal=principal,
                      state=state, errors=errors, preview=preview,
                      status_code=422 if errors else 200, **ctx)
    if decision not in DECISIONS:
        errors["decision"] = t("s_e_choose_decision")
    found += rules.rationale_errors(rationale)
    if len(rationale) > RATIONALE_MAX:
        errors["rationale"] = t("s_e_rationale_long", n=RATIONALE_MAX)
    errors = _field_errors(found, t, served.spec, ctx["contested"]) | errors | nul
    if errors:
        return render(request, "staff/review.html", principal=principal,
                      state=state, errors=errors, preview=preview, status_code=422, **ctx)
    try:
        contest.decide(session, specs, served, principal, dispute_id, decision, rationale,
                       corrected, deps.settings(request),
                       getattr(request.app.state, "uplift", None))
    except InvalidInput as exc:
        session.rollback()
        errors.update(_refused(exc, t, served.spec, ctx["contested"]))
        return render(request, "staff/review.html", principal=principal,
                      state=state, errors=errors, preview=preview, status_code=422, **ctx)
    flash(request, t("s_decided", decision=t("decision_" + decision)))
    return RedirectResponse("/staff/reviews", status_code=303)


@router.post("/staff/reviews/{dispute_id}/judgement")
def review_judge(request: Request, dispute_id: str, principal: ReviewerPage, form: Form,
                 session: SessionDep, specs: SpecsDep) -> Response:
    """Blind-first review: the reviewer's own judgement, then the model's view."""
    t = translator(page_lang(request))
    state = {"expected_risk": str(form.get("expected_risk") or ""),
             "claim_view": str(form.get("claim_view") or "")}
    errors = {}
    try:  # the API's body decides what is a choice
        body = JudgementCreate.model_validate(state)
    except ValidationError as exc:
        words = {"expected_risk": t("blind_err_risk"), "claim_view": t("blind_err_claim")}
        errors = {str(e["loc"][0]): words[str(e["loc"][0])] for e in exc.errors()}
    if errors:
        ctx = _review_context(session, specs, principal, dispute_id,
                              deps.settings(request).blind_review, page_lang(request))
        return render(request, "staff/review.html", principal=principal,
                      state=state, errors=errors, preview=None, status_code=422, **ctx)
    contest.record_judgement(session, principal, dispute_id, body)
    flash(request, t("blind_recorded"))
    return RedirectResponse(f"/staff/reviews/{dispute_id}", status_code=303)


@router.get("/staff/audit")
def audit_page(request: Request, principal: AdminPage, session: SessionDep,
               before_seq: int | None = Query(None, ge=1, le=audit.MAX_SEQ)) -> Response:
    verify = contest.audit_verify(session)
    events, older = contest.audit_events(session, 50, before_seq)
    names = display_names(session, [e.actor for e in events])
    return render(request, "staff/audit.html", principal=principal,
                  verify=verify, events=events, older=older, paged=before_seq is not None,
                  names=names)
