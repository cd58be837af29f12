"""Task rules every domain applies: a dispute, an objection or an overturn cancels the
customer's open contact; only retention decides how."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from serving.storage.tables import OPEN_TASK_STATUSES, RetentionTask


def cancel_open_tasks(session: Session, customer_ref: str, reason: str,
                      now: datetime, prediction_id: str | None = None) -> list[str]:
    """Cancel the customer's open or claimed retention tasks (all, or those of one
    prediction); the reason goes in the task's note. Returns their ids."""
    q = select(RetentionTask.id).where(RetentionTask.customer_ref == customer_ref,
                                       RetentionTask.status.in_(OPEN_TASK_STATUSES))
    if prediction_id is not None:
        q = q.where(RetentionTask.prediction_id == prediction_id)
    ids = list(session.scalars(q))
    if ids:
        session.execute(
            update(RetentionTask).where(RetentionTask.id.in_(ids))
            .values(status="cancelled", note=reason, updated_at=now,
                    version=RetentionTask.version + 1)
            .execution_options(synchronize_session=False)
        )
    return ids
