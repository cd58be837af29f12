"""The review queue and decisions.

A decision is final (a second one is 409: the dispute row is moved from `open` with a
conditional UPDATE, and `dispute_decisions` has the dispute id as primary key). It lifts
the customer's restriction unless another dispute of theirs is still open: at once when
no contact address is known, else once the decision notice is delivered (Art. 18(3),
`serving.reviews.lifting`).

- `upheld`: the prediction stands; if it is still the customer's latest and asked for a
  human contact, the contact task is opened again.
- `rectified`: the corrected values are checked by the disputes rulebook (each one a
  feature the customer contested, some or all of them, and a value, never null, that the
  served model reads, in its input domain), stored with the decision and as a new
  prediction (source `review`) scored and explained by the served model; the response
  holds the before/after of every contribution. A dispute that contested no value (a
  statement alone) cannot be rectified.
- `overturned`: the prediction is withdrawn from all use (risk list, tasks, exports).

Every decision gives its reasons (the rulebook refuses reasons of spaces alone: the
customer reads them), and a preview checks its corrections as the decision would.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.explain import decoded_values, values_json
from serving import cursors
from serving.audit import service as audit
from serving.auth.principal import Principal
from serving.config import Settings
from serving.delivery import notices
from serving.disputes import rules
from serving.disputes import service as disputes
from serving.disputes.schemas import DecisionCreate, DecisionPublic
from serving.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    model_problems,
    must_find,
)
from serving.loop import targeting
from serving.loop.control import ControlPlan
from serving.loop.targeting import UpliftPlan
from serving.modelhost import ServedModel
from serving.retention.tasks import cancel_for_overturn, created_events
from serving.reviews import blind as blind_review
from serving.reviews.schemas import BlindItem, RectificationPreview, ReviewItem, ReviewPage
from serving.routing import Route, risk_band, route
from serving.scoring import service as scoring
from serving.scoring.schemas import ModelRef, RoutePublic
from serving.specs import SpecCache
from serving.storage import access as store_access
from serving.storage import receipts
from serving.storage.db import write_lock
from serving.storage.receipts import Receipts, unpack_shap
from serving.storage.tables import (
    Customer,
    Dispute,
    DisputeDecision,
    Prediction,
    new_id,
)


# -- the queue ------------------------------------------------------------------------------
def _cursor(d: Dispute) -> str:
    return cursors.encode(d.received_at, d.id)


def _after(cursor: str) -> Any:
    try:
        at, did = cursors.parts(cursor)
        at = datetime.fromisoformat(at)
        if at.tzinfo is None or not isinstance(did, str) or "\x00" in did:
            raise ValueError(cursor)
    except InvalidInput:
        raise
    except Exception as exc:  # noqa: BLE001 - a key of another shape
        raise cursors.refused(cursor) from exc
    return or_(Dispute.received_at > at, and_(Dispute.received_at == at, Dispute.id > did))


def review_item(session: Session, specs: SpecCache, d: Dispute, lang: str = "en",
                now: datetime | None = None, *, blind: bool = False) -> ReviewItem | BlindItem:
    """The dispute as a reviewer reads it; under blind-first review (`blind`) and before
    the reviewer's own judgement, without the model's score and explanation."""
    if blind_review.withheld(session, d, blind):
        return blind_review.blind_item(session, specs, d, lang, now)
    base = disputes.dispute_public(session, specs, d, lang, now)
    pred = session.get(Prediction, d.prediction_id)
    customer = session.get(Customer, d.customer_ref)
    others = session.scalar(select(func.count()).select_from(Dispute).where(
        Dispute.customer_ref == d.customer_ref, Dispute.status == "open",
        Dispute.id != d.id)) or 0
    return ReviewItem(
        **base.model_dump(),
        customer_id=customer.external_id if customer else None,
        prediction=scoring.public(session, specs, pred, lang) if pred else None,
        other_open_disputes=others,
        judgement=blind_review.judgement(session, d.id),
    )


def list_open(session: Session, specs: SpecCache, limit: int = 50, cursor: str | None = None,
              lang: str = "en", *, blind: bool = False, reader: Principal,
              via: str = "api") -> ReviewPage:
    """Open disputes, oldest first (the first due first), each with its explanation; the
    read (customers' statements and records) is in the audit log, whoever serves it."""
    q = (select(Dispute).where(Dispute.status == "open")
         .order_by(Dispute.received_at.asc(), Dispute.id.asc()).limit(limit + 1))
    if cursor:
        q = q.where(_after(cursor))
    rows = list(session.scalars(q))
    now = datetime.now(UTC)
    items = [review_item(session, specs, d, lang, now, blind=blind) for d in rows[:limit]]
    out = ReviewPage(items=items, next_cursor=_cursor(rows[limit - 1])
                     if len(rows) > limit else None)
    audit.read(session, reader, audit.DISPUTE_LIST_READ,
               objects={"status": "open", "limit": limit, "entries": len(items),
                        "page": "next" if cursor else "first", "via": via})
    return out


# -- re-scoring -----------------------------------------------------------------------------
def _refuse(detail: str, errors: list[FieldError]) -> None:
    """422 naming every field of `errors`, when there is one."""
    if errors:
        raise InvalidInput.naming(
            detail + ": " + "; ".join(f"{e.field}: {e.problem}" for e in errors[:10]), errors)


def contested_features(d: Dispute) -> list[str]:
    """The features the dispute contested, in the customer's order: all a rectification
    may correct."""
    return [c["feature"] for c in d.contested or []]


def _rescore(served: ServedModel, pred: Prediction, corrected: dict[str, Any],  # noqa: ANN202
             contested: list[str]):
    """The stored values with the corrections, checked (the rulebook's corrections of the
    `contested` features, then the whole record) and scored by the served model."""
    _refuse(f"the corrections cannot be applied (model {served.name} v{served.version}, "
            f"contested: {', '.join(contested) or 'no value'})",
            rules.correction_errors(served.spec, corrected, contested))
    stored = json.loads(pred.features)
    record = {n: stored.get(n) for n in served.spec.feature_names} | corrected
    encoder = served.model.encoder
    assert encoder is not None
    _refuse(f"the corrected features do not fit model {served.name} v{served.version}",
            model_problems(encoder.problems(record), ["body", "corrected_features"]))
    X = encoder.encode_records([record], validate=False)
    ex = served.model.explain(X)
    return decoded_values(served.spec, X[0]), ex


def _route_after(score: float, served: ServedModel, still_restricted: bool,
                 objected: bool) -> Route:
    if objected:
        return Route("none", "The customer objected to profiling: no contact is proposed.")
    return route(score, served.thresholds, restricted=still_restricted)


def _load_open(session: Session, dispute_id: str) -> tuple[Dispute, Prediction, Customer]:
    d = must_find(disputes.find(session, dispute_id), "no such dispute")
    if d.status != "open":
        raise Conflict("this dispute was already decided; decisions are final",
                       dispute_id=d.id)
    pred = session.get(Prediction, d.prediction_id)
    customer = session.get(Customer, d.customer_ref)
    if pred is None or customer is None:  # pragma: no cover - cascades delete disputes too
        raise NotFound("no such dispute")
    return d, pred, customer


def preview_rectification(session: Session, specs: SpecCache, served: ServedModel,
                          dispute_id: str, corrected_features: dict[str, Any],
                          lang: str = "en", *, blind: bool = False) -> RectificationPreview:
    """What `rectified` with these values would give; nothing is written. Under
    blind-first review (`blind`), only once the reviewer's own judgement is recorded."""
    d, pred, customer = _load_open(session, dispute_id)
    blind_review.require_judgement(session, d, blind)
    values, ex = _rescore(served, pred, corrected_features, contested_features(d))
    score = float(ex.score[0])
    others = disputes.open_count(session, d.customer_ref) - 1
    r = _route_after(score, served, others > 0, customer.objected)
    before_spec = specs.get(session, pred.model_name, pred.model_version)
    return RectificationPreview(
        dispute_id=d.id, model=ModelRef(name=served.name, version=served.version,
                                        contract_version=served.contract_version),
        score_before=pred.score, score_after=score, risk_band_before=pred.risk_band,
        risk_band_after=risk_band(score, served.thresholds),
        route_after=RoutePublic(action=r.action, reason=r.reason),
        base_value=float(ex.base_value), margin=float(ex.margin[0]),
        contributions=scoring.contributions_public(served.spec, values, ex.shap[0], lang),
        changes=disputes.changes(before_spec, json.loads(pred.features),
                                 unpack_shap(pred.shap), served.spec, values,
                                 ex.shap[0], set(corrected_features), lang),
    )


# -- deciding -------------------------------------------------------------------------------
def decide(session: Session, specs: SpecCache, served: ServedModel, principal: Principal,
           dispute_id: str, body: DecisionCreate, lang: str = "en", *,
           settings: Settings, uplift: UpliftPlan | None = None) -> DecisionPublic:
    """Record a final decision, apply it, lift the restriction, audit; committed. The
    customer is told in the same transaction (issue 15): the decision and its reason, a
    rectification, and the restriction lifted by it, with a fresh link. A task it opens
    is due `settings.task_due_days` later. `uplift`: the uplift model in force, for a
    rectified re-score's targeting."""
    d, pred, _ = _load_open(session, dispute_id)
    # blind-first review (issue 18): the reviewer's own judgement comes before a decision
    blind_review.require_judgement(session, d, settings.blind_review)
    # the reasons and every correction, refused together, before anything is written
    contested = contested_features(d)
    _refuse("the decision cannot be recorded",
            rules.decision_errors(served.spec, body.decision, body.rationale,
                                  body.corrected_features, contested))
    rescored = None
    if body.decision == "rectified":  # 422 before writing
        rescored = _rescore(served, pred, body.corrected_features or {}, contested)
    now = datetime.now(UTC)
    new_pid: str | None = None
    task_id: str | None = None
    change_rows: list[dict[str, Any]] | None = None
    try:
        with write_lock(session):
            moved = session.execute(
                update(Dispute).where(Dispute.id == d.id, Dispute.status == "open")
                .values(status="decided", decided_at=now)
                .execution_options(synchronize_session=False)).rowcount
            if not moved:
                session.rollback()
                raise Conflict("this dispute was already decided; decisions are final",
                               dispute_id=d.id)
            # the customer row (locked by this UPDATE) decides the restriction
            session.execute(update(Customer).where(Customer.customer_ref == d.customer_ref)
                            .values(restricted=Customer.restricted)
                            .execution_options(synchronize_session=False))
            customer = session.get(Customer, d.customer_ref, populate_existing=True)
            lift = disputes.open_count(session, d.customer_ref) == 0
            # Art. 18(3): told before the lift. With a contact address, the record stays
            # restricted until the decision notice is delivered (the worker lifts it then,
            # and opens the task this decision would open: `lifting`); without one, at once
            notice_first = (lift
                            and store_access.contact(session, d.customer_ref) is not None)
            restriction = ("kept_open_dispute" if not lift else "lift_after_notice"
                           if notice_first else "lifted_no_contact")
            if lift and not notice_first:  # first: what follows sees an unrestricted record
                session.execute(update(Customer).where(Customer.customer_ref == d.customer_ref)
                                .values(restricted=False)
                                .execution_options(synchronize_session=False))
            db = Receipts(session)
            if body.decision == "rectified":
                assert rescored is not None
                values, ex = rescored
                new_pid, task_id, change_rows = _store_rescore(
                    db, specs, served, principal, pred, values, ex,
                    set(body.corrected_features or {}), not lift, customer.objected, now, lang,
                    ControlPlan.from_settings(settings), settings.task_due_days,
                    uplift=uplift)
            elif body.decision == "overturned":
                _withdraw(db, pred, now, d.id)
            elif lift and not customer.objected:
                task_id = _reopen_task(db, pred, customer, now, principal,
                                       settings.task_due_days)
            row = DisputeDecision(
                dispute_id=d.id, decision=body.decision, rationale=body.rationale,
                corrected_features=body.corrected_features if rescored else None,
                new_prediction_id=new_pid, changes=change_rows, restriction_lifted=lift,
                decided_by=principal.actor, decided_at=now)
            session.add(row)
            session.flush()
            notices.notify(
                session, settings, d.customer_ref, "decision", principal, with_link=True,
                lifts_restriction=notice_first, outcome=(body.decision,),
                rationale=body.rationale,
                restriction=("lifting",) if lift else ("still_restricted",))
            audit.append(session, principal, audit.DISPUTE_DECIDED,
                         customer_ref=d.customer_ref,
                         objects={"dispute_id": d.id, "decision": body.decision,
                                  "prediction_id": pred.id, "new_prediction_id": new_pid,
                                  "task_id": task_id, "restriction_lifted": lift,
                                  "restriction": restriction},
                         model=served if rescored else (pred.model_name, pred.model_version))
            session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("this dispute was already decided; decisions are final",
                       dispute_id=d.id) from None
    session.expire_all()
    return disputes.decision_public(session, specs, session.get(DisputeDecision, d.id),
                                    pred.id, lang)


def _store_rescore(db: Receipts, specs: SpecCache, served: ServedModel,
                   principal: Principal, pred: Prediction, values: dict[str, Any], ex: Any,
                   corrected: set[str], still_restricted: bool, objected: bool,
                   now: datetime, lang: str, plan: ControlPlan | None, due_days: int,
                   uplift: UpliftPlan | None = None
                   ) -> tuple[str, str | None, list[dict[str, Any]]]:
    """The corrected record as a new receipt (the customer's entry in use), routed as
    usual once the restriction is lifted (the control group's draw included: `plan`; a
    task due `due_days` later); returns its id, its task id, the changes."""
    score = float(ex.score[0])
    band = risk_band(score, served.thresholds)
    r = _route_after(score, served, still_restricted, objected)
    at = db.db_time(now)
    row = receipts.PredictionRow(
        new_id(), pred.customer_ref, served.name, served.version, score,
        float(ex.margin[0]), float(ex.base_value), band, values_json(values),
        receipts.pack_shap(ex.shap[0]), r.action, r.reason, "review", principal.actor, False, at,
        served.contract_version)
    # a held-out customer stays held out, one carrying an open task from an earlier
    # campaign period is not drawn (read in this transaction): the rule every path applies
    # (targeting.target)
    carried = (frozenset(db.carried([pred.customer_ref], plan.period_start(now)))
               if plan is not None and r.action == "human_contact" else frozenset())
    [row], _ = targeting.target(plan, uplift, [row], (), now, carried=carried)
    db.move_latest([receipts.LatestEntry(pred.customer_ref, None, row.id, score, band, at)],
                   unless_flagged=False)
    db.insert([row])
    task_id = None
    if row.route_action == "human_contact":
        opened = db.open_tasks([receipts.TaskRow(new_id(), pred.customer_ref, row.id, score,
                                                 r.reason, at,
                                                 expected_value=row.expected_value)], due_days)
        audit.append_many(db.session, created_events(opened, principal, "review", served))
        task_id = db.open_task_ids([pred.customer_ref]).get(pred.customer_ref)
    before_spec = specs.get(db.session, pred.model_name, pred.model_version)
    rows = disputes.changes(before_spec, json.loads(pred.features), unpack_shap(pred.shap),
                            served.spec, values, np.asarray(ex.shap[0]), corrected, lang)
    return row.id, task_id, [c.model_dump(mode="json") for c in rows]


def _withdraw(db: Receipts, pred: Prediction, now: datetime, dispute_id: str) -> None:
    """Withdraw the prediction from all use: flagged, its tasks cancelled, and the
    customer off the risk list. No earlier receipt takes its place: the reviewer judged
    the model's view of this customer wrong, and an earlier receipt on the same data
    would repeat it. A later score on exactly these values is kept withdrawn too
    (`routing.OVERTURNED`, online and batch); the next score on changed data puts them
    back."""
    db.withdraw(pred.id)
    cancel_for_overturn(db.session, pred.customer_ref, pred.id, dispute_id, now)
    db.clear_entries([(pred.customer_ref, pred.id)])


def _reopen_task(db: Receipts, pred: Prediction, customer: Customer,
                 now: datetime, principal: Principal, due_days: int) -> str | None:
    """Upheld: a prediction that asked for a human contact gets its task back (due
    `due_days` later), if it is still the customer's latest."""
    if customer.latest_prediction_id != pred.id or pred.route_action != "human_contact":
        return None
    opened = db.open_tasks([receipts.TaskRow(new_id(), pred.customer_ref, pred.id, pred.score,
                                             pred.route_reason, db.db_time(now),
                                             expected_value=pred.expected_value)], due_days)
    audit.append_many(db.session, created_events(opened, principal, "review",
                                                 (pred.model_name, pred.model_version)))
    return db.open_task_ids([pred.customer_ref]).get(pred.customer_ref)
