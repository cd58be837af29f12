from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ObjectionPublic(BaseModel):
    """The customer's objection to profiling: while `objected`, nothing about them is
    scored, listed or routed to a retention contact."""

    customer_ref: str
    objected: bool
    objected_at: datetime | None = None
    withdrawn_at: datetime | None = None
    cancelled_task_ids: list[str] = Field(default_factory=list,
                                          description="Retention tasks cancelled by it")
    assisted: bool = Field(default=False, description="Recorded for the customer by a "
                           "staff member, on the phone (an assisted action)")
    assisted_by: str | None = Field(default=None, description="Who recorded it, when assisted")
