"""What the compliance report reads besides the analytics (issue 18): the rights requests of
a period (the table of `serving.rights`) and the staff by role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from serving.storage.tables import RightsRequest, StaffUser


@dataclass(frozen=True)
class RequestFacts:
    kind: str
    status: str
    opened_at: datetime
    due_at: datetime
    extended_due_at: datetime | None
    closed_at: datetime | None
    opened_via: str


def rights_requests(session: Session, since: datetime | None = None,
                    until: datetime | None = None) -> list[RequestFacts]:
    """The requests opened in [since, until), oldest first (no pseudonym, no free text)."""
    r = RightsRequest
    q = select(r.kind, r.status, r.opened_at, r.due_at, r.extended_due_at, r.closed_at,
               r.opened_via).order_by(r.opened_at, r.id)
    if since is not None:
        q = q.where(r.opened_at >= since)
    if until is not None:
        q = q.where(r.opened_at < until)
    return [RequestFacts(*row) for row in session.execute(q)]


def staff_by_role(session: Session) -> dict[str, int]:
    """Active staff accounts per role (the recipients of the data inside the operator)."""
    q = (select(StaffUser.role, func.count()).where(StaffUser.active.is_(True))
         .group_by(StaffUser.role))
    return {role: int(n) for role, n in session.execute(q)}
