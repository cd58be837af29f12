"""The review queue and decisions.

A decision is final (a second one is 409: the dispute row is moved from `open` with a
conditional UPDATE, and `dispute_decisions` has the dispute id as primary key). It lifts
the customer's restriction unless another dispute of theirs is still open.

- `upheld`: the prediction stands; if it is still the customer's latest and asked for a
  human contact, the contact task is opened again.
- `rectified`: the corrected values are validated like a prediction's input, stored with
  the decision and as a new prediction (source `review`) scored and explained by the
  served model; the response holds the before/after of every contribution.
- `overturned`: the prediction is withdrawn from all use (risk list, tasks, exports).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from serving.audit import service as audit
from serving.auth.principal import Principal
from serving.disputes import service as disputes
from serving.disputes.schemas import DecisionCreate, DecisionPublic
from serving.errors import Conflict, InvalidInput, NotFound
from serving.modelhost import ServedModel
from serving.retention.tasks import cancel_open_tasks
from serving.reviews.schemas import RectificationPreview, ReviewItem, ReviewPage
from serving.routing import Route, risk_band, route
from serving.scoring import explain
from serving.scoring import service as scoring
from serving.scoring.schemas import ContributionPublic, ModelRef, RoutePublic
from serving.specs import SpecCache
from serving.storage import bulk
from serving.storage.db import write_lock
from serving.storage.tables import (
    Customer,
    Dispute,
    DisputeDecision,
    Prediction,
    new_id,
)


# -- the queue ------------------------------------------------------------------------------
def _cursor(d: Dispute) -> str:
    raw = json.dumps([d.received_at.isoformat(), d.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(cursor: str) -> Any:
    try:
        at, did = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        at = datetime.fromisoformat(at)
        if at.tzinfo is None or not isinstance(did, str) or "\x00" in did:
            raise ValueError(cursor)
    except Exception as exc:  # noqa: BLE001
        raise InvalidInput("cursor is not valid; use the next_cursor of the previous page",
                           fields=["cursor"]) from exc
    return or_(Dispute.received_at > at, and_(Dispute.received_at == at, Dispute.id > did))


def review_item(session: Session, specs: SpecCache, d: Dispute, lang: str = "en",
                now: datetime | None = None) -> ReviewItem:
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
    )


def list_open(session: Session, specs: SpecCache, limit: int = 50, cursor: str | None = None,
              lang: str = "en") -> ReviewPage:
    """Open disputes, oldest first (the first due first), each with its explanation."""
    q = (select(Dispute).where(Dispute.status == "open")
         .order_by(Dispute.received_at.asc(), Dispute.id.asc()).limit(limit + 1))
    if cursor:
        q = q.where(_after(cursor))
    rows = list(session.scalars(q))
    now = datetime.now(UTC)
    items = [review_item(session, specs, d, lang, now) for d in rows[:limit]]
    return ReviewPage(items=items, next_cursor=_cursor(rows[limit - 1])
                      if len(rows) > limit else None)


# -- re-scoring -----------------------------------------------------------------------------
def _rescore(served: ServedModel, pred: Prediction, corrected: dict[str, Any]):  # noqa: ANN202
    """The stored values with the corrections, checked and scored by the served model."""
    stored = json.loads(pred.features)
    record = {n: stored.get(n) for n in served.spec.feature_names} | corrected
    encoder = served.model.encoder
    assert encoder is not None
    problems = encoder.problems(record)
    if problems:
        errors = [{"loc": ["body", "corrected_features", p.field], **p.as_dict()}
                  for p in problems]
        raise InvalidInput(
            f"the corrected features do not fit model {served.name} v{served.version}: "
            + "; ".join(f"{p.field}: {p.problem}" for p in problems[:10]),
            fields=sorted({p.field for p in problems}), errors=errors)
    X = encoder.encode_records([record], validate=False)
    ex = served.model.explain(X)
    return explain.decoded_values(served.spec, X[0]), ex


def _route_after(score: float, served: ServedModel, still_restricted: bool,
                 objected: bool) -> Route:
    if objected:
        return Route("none", "The customer objected to profiling: no contact is proposed.")
    return route(score, served.thresholds, restricted=still_restricted)


def _load_open(session: Session, dispute_id: str) -> tuple[Dispute, Prediction, Customer]:
    d = disputes.find(session, dispute_id)
    if d is None:
        raise NotFound("no such dispute")
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
                          lang: str = "en") -> RectificationPreview:
    """What `rectified` with these values would give; nothing is written."""
    d, pred, customer = _load_open(session, dispute_id)
    values, ex = _rescore(served, pred, corrected_features)
    score = float(ex.score[0])
    others = disputes.open_count(session, d.customer_ref) - 1
    r = _route_after(score, served, others > 0, customer.objected)
    before_spec = specs.get(session, pred.model_name, pred.model_version)
    return RectificationPreview(
        dispute_id=d.id, model=ModelRef(name=served.name, version=served.version),
        score_before=pred.score, score_after=score, risk_band_before=pred.risk_band,
        risk_band_after=risk_band(score, served.thresholds),
        route_after=RoutePublic(action=r.action, reason=r.reason),
        base_value=float(ex.base_value), margin=float(ex.margin[0]),
        contributions=[ContributionPublic(**c) for c in
                       explain.contributions(served.spec, values, ex.shap[0], lang)],
        changes=disputes.changes(before_spec, json.loads(pred.features),
                                 explain.unpack_shap(pred.shap), served.spec, values,
                                 ex.shap[0], set(corrected_features), lang),
    )


# -- deciding -------------------------------------------------------------------------------
def decide(session: Session, specs: SpecCache, served: ServedModel, principal: Principal,
           dispute_id: str, body: DecisionCreate, lang: str = "en") -> DecisionPublic:
    """Record a final decision, apply it, lift the restriction, audit; committed."""
    d, pred, _ = _load_open(session, dispute_id)
    rescored = None
    if body.decision == "rectified":
        rescored = _rescore(served, pred, body.corrected_features or {})  # 422 before writing
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
            if body.decision == "rectified":
                assert rescored is not None
                values, ex = rescored
                new_pid, task_id, change_rows = _store_rescore(
                    session, specs, served, principal, pred, values, ex,
                    set(body.corrected_features or {}), not lift, customer.objected, now, lang)
            elif body.decision == "overturned":
                _withdraw(session, pred, now, d.id)
            elif lift and not customer.objected:
                task_id = _reopen_task(session, pred, customer, now)
            if lift:
                session.execute(update(Customer).where(Customer.customer_ref == d.customer_ref)
                                .values(restricted=False)
                                .execution_options(synchronize_session=False))
            row = DisputeDecision(
                dispute_id=d.id, decision=body.decision, rationale=body.rationale,
                corrected_features=body.corrected_features if rescored else None,
                new_prediction_id=new_pid, changes=change_rows, restriction_lifted=lift,
                decided_by=principal.actor, decided_at=now)
            session.add(row)
            session.flush()
            audit.append(session, principal, audit.DISPUTE_DECIDED,
                         customer_ref=d.customer_ref,
                         objects={"dispute_id": d.id, "decision": body.decision,
                                  "prediction_id": pred.id, "new_prediction_id": new_pid,
                                  "task_id": task_id, "restriction_lifted": lift},
                         model=served if rescored else (pred.model_name, pred.model_version))
            session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("this dispute was already decided; decisions are final",
                       dispute_id=d.id) from None
    session.expire_all()
    return disputes.decision_public(session, specs, session.get(DisputeDecision, d.id),
                                    pred.id, lang)


def _store_rescore(session: Session, specs: SpecCache, served: ServedModel,
                   principal: Principal, pred: Prediction, values: dict[str, Any], ex: Any,
                   corrected: set[str], still_restricted: bool, objected: bool,
                   now: datetime, lang: str) -> tuple[str, str | None, list[dict[str, Any]]]:
    """The corrected record as a new prediction (the latest of the customer), routed as
    usual once the restriction is lifted; returns its id, its task id, the changes."""
    score = float(ex.score[0])
    band = risk_band(score, served.thresholds)
    r = _route_after(score, served, still_restricted, objected)
    pid = new_id()
    session.execute(Prediction.__table__.insert(), [{
        "id": pid, "customer_ref": pred.customer_ref, "model_name": served.name,
        "model_version": served.version, "score": score, "margin": float(ex.margin[0]),
        "base_value": float(ex.base_value), "risk_band": band,
        "features": explain.features_json(values), "shap": explain.pack_shap(ex.shap[0]),
        "route_action": r.action, "route_reason": r.reason, "source": "review",
        "actor": principal.actor, "withdrawn": False, "created_at": now}])
    bulk.set_latest(session, [{"ref": pred.customer_ref, "pid": pid, "score": score,
                               "band": band, "at": now}])
    task_id = None
    if r.action == "human_contact":
        bulk.open_tasks(session, [{
            "id": new_id(), "customer_ref": pred.customer_ref, "prediction_id": pid,
            "status": "open", "score": score, "reason": r.reason, "created_at": now,
            "updated_at": now, "version": 1}])
        task_id = _open_task_id(session, pred.customer_ref)
    before_spec = specs.get(session, pred.model_name, pred.model_version)
    rows = disputes.changes(before_spec, json.loads(pred.features),
                            explain.unpack_shap(pred.shap), served.spec, values,
                            np.asarray(ex.shap[0]), corrected, lang)
    return pid, task_id, [c.model_dump(mode="json") for c in rows]


def _open_task_id(session: Session, customer_ref: str) -> str | None:
    from serving.storage.tables import OPEN_TASK_STATUSES, RetentionTask

    return session.scalar(select(RetentionTask.id).where(
        RetentionTask.customer_ref == customer_ref,
        RetentionTask.status.in_(OPEN_TASK_STATUSES)))


def _withdraw(session: Session, pred: Prediction, now: datetime, dispute_id: str) -> None:
    """Withdraw the prediction from all use: flagged, off the risk list (the customer's
    entry moves to their newest prediction still in use, if any), its tasks cancelled."""
    session.execute(update(Prediction).where(Prediction.id == pred.id).values(withdrawn=True)
                    .execution_options(synchronize_session=False))
    cancel_open_tasks(session, pred.customer_ref,
                               f"cancelled: prediction overturned (dispute {dispute_id})",
                               now, prediction_id=pred.id)
    customer = session.get(Customer, pred.customer_ref)
    if customer is not None and customer.latest_prediction_id == pred.id:
        prev = session.scalars(
            select(Prediction).where(Prediction.customer_ref == pred.customer_ref,
                                     ~Prediction.withdrawn, Prediction.id != pred.id)
            .order_by(Prediction.created_at.desc(), Prediction.id.desc()).limit(1)).first()
        session.execute(update(Customer).where(Customer.customer_ref == pred.customer_ref)
                        .values(latest_prediction_id=prev.id if prev else None,
                                latest_score=prev.score if prev else None,
                                latest_band=prev.risk_band if prev else None,
                                latest_at=prev.created_at if prev else None)
                        .execution_options(synchronize_session=False))


def _reopen_task(session: Session, pred: Prediction, customer: Customer,
                 now: datetime) -> str | None:
    """Upheld: a prediction that asked for a human contact gets its task back, if it is
    still the customer's latest."""
    if customer.latest_prediction_id != pred.id or pred.route_action != "human_contact":
        return None
    bulk.open_tasks(session, [{
        "id": new_id(), "customer_ref": pred.customer_ref, "prediction_id": pred.id,
        "status": "open", "score": pred.score, "reason": pred.route_reason,
        "created_at": now, "updated_at": now, "version": 1}])
    return _open_task_id(session, pred.customer_ref)
