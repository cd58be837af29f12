"""When a retention contact must stop: the rules every domain applies (a dispute, an
objection, an overturned prediction), with the note each cancelled task keeps."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from serving.storage.receipts import Receipts


def cancel_for_dispute(session: Session, customer_ref: str, dispute_id: str,
                       now: datetime) -> list[str]:
    """A contest restricts the record: every open contact of the customer stops."""
    return Receipts(session).cancel_open_tasks(
        customer_ref, f"cancelled: the customer contested a prediction (dispute {dispute_id});"
        " the record is restricted until a reviewer decides", now)


def cancel_for_objection(session: Session, customer_ref: str, now: datetime) -> list[str]:
    """An objection to profiling stops every open contact of the customer."""
    return Receipts(session).cancel_open_tasks(
        customer_ref, "cancelled: the customer objected to profiling", now)


def cancel_for_overturn(session: Session, customer_ref: str, prediction_id: str,
                        dispute_id: str, now: datetime) -> list[str]:
    """An overturned prediction's contact stops (other contacts are not its to stop)."""
    return Receipts(session).cancel_open_tasks(
        customer_ref, f"cancelled: prediction overturned (dispute {dispute_id})", now,
        prediction_id=prediction_id)
