"""Request and response bodies of the retention routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from serving.disputes.schemas import ContestedFeaturePublic
from serving.freetext import PersonText
from serving.scoring.schemas import ContributionPublic, ModelRef, PredictionPublic

Outcome = Literal["retained", "churned", "no_contact", "declined"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)
Channel = Literal["phone", "email", "sms", "in_person", "letter", "chat"]
CHANNELS: tuple[str, ...] = get_args(Channel)
# score: highest first, customers handled recently after the others; due: soonest due
# first; last_contact: never contacted first, then the longest ago; value: the highest
# expected retained value of a call first (uplift targeting, issue 17)
Sort = Literal["score", "due", "last_contact", "value"]
SORTS: tuple[str, ...] = get_args(Sort)


class ContactAttemptCreate(BaseModel):
    """One try at reaching the customer: how, whether they were reached, what was said."""

    model_config = ConfigDict(extra="forbid")
    channel: Channel
    reached: bool = Field(default=False, description="The customer was reached")
    note: PersonText = Field(default="", max_length=4000, pattern=r"^[^\x00]*$",
                             description="What was said (a line break counts once)")


class ContactAttemptPublic(BaseModel):
    attempt_id: str
    channel: Channel
    reached: bool
    note: str
    agent: str
    attempted_at: datetime


class DisputeSummary(BaseModel):
    """The customer's own voice, as the agent sees it before calling: what they wrote,
    and what the reviewer decided and why."""

    dispute_id: str
    status: Literal["open", "decided"]
    statement: str
    contested: list[ContestedFeaturePublic] = Field(default_factory=list)
    received_at: datetime
    assisted: bool = False
    decision: Literal["upheld", "rectified", "overturned"] | None = None
    rationale: str | None = None
    decided_at: datetime | None = None


class VoiceMark(BaseModel):
    """A risk-list row's mark: the customer contested (open), or their dispute was decided
    (the latest decision and when)."""

    open_disputes: int = 0
    last_decision: Literal["upheld", "rectified", "overturned"] | None = None
    decided_at: datetime | None = None


class CallValuePublic(BaseModel):
    """What a call to this customer is expected to be worth, under uplift targeting (issue
    17): the expected retained value = uplift x the customer's value - the contact cost."""

    expected_value: float = Field(description="Expected retained value of the call")
    uplift: float | None = Field(
        default=None, description="Estimated fall in the chance of leaving the call brings")
    customer_value: float | None = Field(default=None, description="The customer's value used")


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
    due_at: datetime | None = Field(default=None, description="When the contact is due")
    overdue: bool = Field(default=False, description="Open or claimed past its due date")
    last_contact_at: datetime | None = Field(
        default=None, description="The customer's last contact attempt or closed task")
    attempts: list[ContactAttemptPublic] = Field(default_factory=list)
    disputes: list[DisputeSummary] = Field(
        default_factory=list, description="The customer's disputes, newest first")
    call_value: CallValuePublic | None = Field(
        default=None, description="Uplift targeting: what the call is expected to be worth "
        "(the queue's `value` order)")


class RetentionTaskPage(BaseModel):
    items: list[RetentionTaskPublic]
    next_cursor: str | None = None


class TaskCounts(BaseModel):
    """How much work waits: open and claimed tasks, overall and by risk band."""

    open: int = 0
    claimed: int = 0
    overdue: int = Field(default=0, description="Open or claimed past their due date")
    mine: int = Field(default=0, description="Claimed by the reader")
    by_band: dict[str, dict[str, int]] = Field(default_factory=dict,
                                               description="band -> status -> tasks")


class ReassignRequest(BaseModel):
    """Hand a task to another agent."""

    model_config = ConfigDict(extra="forbid")
    to: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$",
                    description="The agent: their name (e.g. Ana Lima, whatever its "
                                "case) or their actor, staff:<user id>, as a task's "
                                "claimed_by shows it")


class CompleteRequest(BaseModel):
    """How the contact went; the outcome is kept as a label for the next training."""

    model_config = ConfigDict(extra="forbid")
    outcome: Outcome
    note: PersonText = Field(default="", max_length=4000,
                             description="How it went (a line break counts once)")


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
    task_status: Literal["open", "claimed"] | None = None
    claimed_by: str | None = None
    due_at: datetime | None = None
    overdue: bool = False
    last_contact_at: datetime | None = None
    handled_recently: bool = Field(
        default=False, description="Contacted or closed within CHURN_TASK_HANDLED_DAYS: "
        "listed after the others when sorted by score")
    voice: VoiceMark | None = Field(default=None, description="The customer's disputes")
    call_value: CallValuePublic | None = Field(
        default=None, description="Uplift targeting: what a call to them is expected to be "
        "worth, when they have an open or claimed task")


class RiskListPage(BaseModel):
    items: list[RiskEntryPublic]
    next_cursor: str | None = Field(
        default=None, description="Pass as ?cursor= for the next page; null on the last page"
    )
