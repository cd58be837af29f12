"""What the loop's routes take and answer."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from serving.loop.outcomes import day_left
from serving.scoring.schemas import CustomerId

MAX_EVENTS = 10_000


def _day(value: Any) -> date:
    """`outcomes.day_left`, the rule the file follows too, as a validation error
    (`not_a_day`) carrying its words."""
    try:
        return day_left(value)
    except ValueError as exc:
        raise PydanticCustomError("not_a_day", "{why}", {"why": str(exc)}) from None


# the day a customer left: YYYY-MM-DD only, as in a file (OpenAPI: format date)
LeftOn = Annotated[date, BeforeValidator(_day)]


class ChurnEventIn(BaseModel):
    """One customer who left: their id in your systems and the day they left (UTC)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "example": {"customer_id": "7590-VHVEG", "left_on": "2026-10-31"}})

    customer_id: CustomerId
    left_on: LeftOn = Field(description="The day the customer left, in UTC: an ISO date "
                            "written YYYY-MM-DD (no time, no offset), as in a file")


class ChurnEventsIn(BaseModel):
    """Departures to record, up to 10,000 in one call; sending the same ones again
    changes nothing."""

    model_config = ConfigDict(extra="forbid")

    events: Annotated[list[ChurnEventIn], Field(min_length=1, max_length=MAX_EVENTS)]


class EventProblem(BaseModel):
    """A row not recorded: which (0-based, in `events`), which field, what is wrong and
    how to fix it."""

    row: int
    field: str
    problem: str  # unknown_customer | erased | future_date | duplicate_in_request
    detail: str


class ChurnEventsPublic(BaseModel):
    """What was recorded: new events, events already known (a replay), and each row
    refused with its problem. Customers appear by row number only."""

    received: int
    recorded: int
    already_recorded: int
    rejected: int
    rejected_by_reason: dict[str, int]
    problems: list[EventProblem]
