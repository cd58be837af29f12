"""The statements of closing the loop (issue 17): churn events in, and the rows that give
each receipt its observed label (receipts, churn events, task outcomes) out."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from serving.storage.bulk import _insert
from serving.storage.tables import ChurnEvent, Customer, Erasure, Prediction, RetentionTask

# refs per IN list: far below every driver's parameter limit
_CHUNK = 5_000


def _chunks(refs: Sequence[str]) -> Iterator[list[str]]:
    refs = sorted(set(refs))
    for i in range(0, len(refs), _CHUNK):
        yield refs[i:i + _CHUNK]


def known_customers(session: Session, refs: Sequence[str]) -> set[str]:
    """The customers among `refs` the service holds."""
    return {r for part in _chunks(refs) for r in session.scalars(
        select(Customer.customer_ref).where(Customer.customer_ref.in_(part)))}


def erased_customers(session: Session, refs: Sequence[str]) -> set[str]:
    """The customers among `refs` erased at their request (a tombstone)."""
    return {r for part in _chunks(refs) for r in session.scalars(
        select(Erasure.customer_ref).where(Erasure.customer_ref.in_(part)))}


def recorded_events(session: Session, refs: Sequence[str]) -> set[tuple[str, date]]:
    """The (customer, day left) pairs already recorded for the customers among `refs`."""
    return {(r, d) for part in _chunks(refs) for r, d in session.execute(
        select(ChurnEvent.customer_ref, ChurnEvent.left_on)
        .where(ChurnEvent.customer_ref.in_(part)))}


def insert_events(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Insert churn events (keys: id, customer_ref, left_on, recorded_at, recorded_by,
    source); a pair already recorded (a concurrent replay) is left as it is. Returns how
    many were new."""
    if not rows:
        return 0
    # RETURNING names the rows actually inserted (a driver's executemany rowcount may not)
    stmt = _insert(session, ChurnEvent.__table__).on_conflict_do_nothing(
        index_elements=["customer_ref", "left_on"]).returning(ChurnEvent.__table__.c.id)
    new = 0
    for i in range(0, len(rows), _CHUNK):
        new += len(session.execute(stmt, list(rows[i:i + _CHUNK])).all())
    return new


def events_by_customer(session: Session, refs: Sequence[str] | None = None
                       ) -> dict[str, list[date]]:
    """Every churn event's day, by customer, earliest first (of `refs` only, if given)."""
    q: Select = select(ChurnEvent.customer_ref, ChurnEvent.left_on)
    out: dict[str, list[date]] = {}
    parts = [None] if refs is None else list(_chunks(refs))
    for part in parts:
        for ref, day in session.execute(q if part is None else q.where(
                ChurnEvent.customer_ref.in_(part))):
            out.setdefault(ref, []).append(day)
    for days in out.values():
        days.sort()
    return out


PREDICTION_FIELDS = ("id", "customer_ref", "model_name", "model_version", "created_at",
                     "score", "risk_band", "route_action", "source", "withdrawn", "arm",
                     "targeting", "uplift", "customer_value", "expected_value", "features")


def predictions(session: Session, since: datetime | None = None,
                until: datetime | None = None, model_version: str | None = None,
                batch: int = 20_000) -> Iterator[tuple]:
    """Receipts in time order (`PREDICTION_FIELDS`), of a time window and model version."""
    cols = [getattr(Prediction, f) for f in PREDICTION_FIELDS]
    q = select(*cols).order_by(Prediction.created_at, Prediction.id)
    if since is not None:
        q = q.where(Prediction.created_at >= since)
    if until is not None:
        q = q.where(Prediction.created_at < until)
    if model_version is not None:
        q = q.where(Prediction.model_version == model_version)
    yield from session.execute(q.execution_options(yield_per=batch))


def task_outcomes(session: Session) -> dict[str, tuple[str, str | None]]:
    """Each receipt's task (status, outcome), the latest one when a receipt had several."""
    out: dict[str, tuple[str, str | None]] = {}
    for pid, status, outcome in session.execute(
            select(RetentionTask.prediction_id, RetentionTask.status, RetentionTask.outcome)
            .order_by(RetentionTask.updated_at)):
        out[pid] = (status, outcome)
    return out


def flagged_customers(session: Session) -> dict[str, tuple[bool, bool]]:
    """Restricted or objecting customers -> (restricted, objected)."""
    return {r: (bool(a), bool(b)) for r, a, b in session.execute(
        select(Customer.customer_ref, Customer.restricted, Customer.objected)
        .where(Customer.restricted | Customer.objected))}


def rectifications(session: Session) -> dict[str, list[tuple[datetime, dict[str, Any]]]]:
    """Each customer's rectified values (decided_at, {feature: value as the model read it}),
    oldest first: the features a reviewer corrected, read from the corrected receipt."""
    from sqlalchemy import and_

    from serving.storage.tables import Dispute, DisputeDecision

    q = (select(Dispute.customer_ref, DisputeDecision.decided_at,
                DisputeDecision.corrected_features, Prediction.features)
         .join(DisputeDecision, DisputeDecision.dispute_id == Dispute.id)
         .join(Prediction, and_(Prediction.id == DisputeDecision.new_prediction_id))
         .where(DisputeDecision.decision == "rectified")
         .order_by(DisputeDecision.decided_at))
    out: dict[str, list[tuple[datetime, dict[str, Any]]]] = {}
    for ref, at, corrected, features in session.execute(q):
        values = json.loads(features)
        out.setdefault(ref, []).append(
            (at, {name: values.get(name) for name in (corrected or {})}))
    return out


def erased_all(session: Session) -> set[str]:
    """Every erasure tombstone (they are few)."""
    return set(session.scalars(select(Erasure.customer_ref)))


def latest_served_spec(session: Session) -> tuple[str, str, dict[str, Any]] | None:
    """(name, version, spec) of the model version first served most recently."""
    from serving.storage.tables import ModelVersion

    row = session.execute(select(ModelVersion.name, ModelVersion.version, ModelVersion.spec)
                          .order_by(ModelVersion.first_served_at.desc()).limit(1)).first()
    return None if row is None else (row[0], row[1], row[2])
