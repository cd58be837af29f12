"""Request and response bodies of the retention routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from serving.scoring.schemas import ContributionPublic, ModelRef, PredictionPublic

Outcome = Literal["retained", "churned", "no_contact", "declined"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)


class RetentionTaskPublic(BaseModel):
    """A request for a person to get in touch, with the explanation attached."""

    task_id: str
    status: Literal["open", "claimed", "done", "cancelled"]
    customer_id: str | None = Field(description="The raw id, so the agent knows whom to call")
    customer_ref: str
    score: float
    reason: str
    prediction: PredictionPublic
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    outcome: Outcome | None = None
    note: str | None = None
    completed_at: datetime | None = None
    created_at: datetime


class RetentionTaskPage(BaseModel):
    items: list[RetentionTaskPublic]
    next_cursor: str | None = None


class TaskCounts(BaseModel):
    """How much work waits: open and claimed tasks, overall and by risk band."""

    open: int = 0
    claimed: int = 0
    by_band: dict[str, dict[str, int]] = Field(default_factory=dict,
                                               description="band -> status -> tasks")


class ReassignRequest(BaseModel):
    """Hand a task to another agent."""

    model_config = ConfigDict(extra="forbid")
    to: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$",
                    description="The agent's actor, e.g. staff:ana")


class CompleteRequest(BaseModel):
    """How the contact went; the outcome is kept as a label for the next training."""

    model_config = ConfigDict(extra="forbid")
    outcome: Outcome
    note: str = Field(default="", max_length=4000)


class RiskEntryPublic(BaseModel):
    """One customer on the risk list: their latest prediction and its top three reasons."""

    customer_id: str | None
    customer_ref: str
    prediction_id: str
    score: float
    risk_band: Literal["low", "medium", "high"]
    model: ModelRef
    reasons: list[ContributionPublic]
    open_task_id: str | None = None
    scored_at: datetime


class RiskListPage(BaseModel):
    items: list[RiskEntryPublic]
    next_cursor: str | None = Field(
        default=None, description="Pass as ?cursor= for the next page; null on the last page"
    )
