"""When a retention contact starts and stops: the rules every domain applies (a task
opened by a score, online or by a reviewer, is audited; a dispute, an objection or an
overturned prediction stops contact), with the note each cancelled task keeps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from serving.audit import service as audit
from serving.auth.principal import Principal
from serving.storage.receipts import Receipts, TaskRow


def created_events(created: Sequence[TaskRow], who: Principal | str, via: str,
                   model: Any = None) -> list[audit.Event]:
    """One `retention_task.created` event per task `Receipts.open_tasks` opened (`via`:
    api, review), for the caller to append with its own events, last in its transaction.
    The batch counts the tasks it opens in its chunk event instead (`batch.scored`)."""
    return [audit.event(who, audit.TASK_CREATED, customer_ref=r.customer_ref, model=model,
                        objects={"task_id": r.id, "prediction_id": r.prediction_id,
                                 "via": via, "due_at": _iso(r.due_at)})
            for r in created]


def _iso(value: Any) -> str | None:
    """A storage-form time as ISO text."""
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)


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
