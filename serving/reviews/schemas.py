"""Bodies of the review queue, the rectification preview and decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from serving.disputes.schemas import ContributionChange, DisputePublic, PlainDict
from serving.scoring.schemas import ContributionPublic, ModelRef, PredictionPublic, RoutePublic


class ReviewItem(DisputePublic):
    """An open dispute as a reviewer needs it: the contested prediction with its
    explanation, the customer's statement and claimed values, and the deadline."""

    customer_id: str | None = Field(description="The customer's raw id (staff only)")
    prediction: PredictionPublic | None = Field(
        description="The contested prediction and its explanation")
    other_open_disputes: int = Field(description="The customer's other open disputes")
    judgement: JudgementPublic | None = Field(
        default=None, description="The reviewer's own judgement, recorded before the "
        "model's view was shown (blind-first review)")


class ReviewPage(BaseModel):
    items: list[ReviewItem | BlindItem] = Field(
        description="Oldest first; under blind-first review, a dispute not yet judged "
        "comes without the model's score and explanation")
    next_cursor: str | None = None


class PreviewCreate(BaseModel):
    """Corrected values to try, without deciding anything."""

    model_config = ConfigDict(extra="forbid")
    corrected_features: PlainDict = Field(
        min_length=1, description="feature -> corrected value, checked as a rectified "
        "decision's are: only features the dispute contested, each value never null "
        "(unknown is no correction)")


class RectificationPreview(BaseModel):
    """What a rectification would give with the served model; nothing is stored."""

    dispute_id: str
    model: ModelRef
    score_before: float
    score_after: float
    risk_band_before: str
    risk_band_after: str
    route_after: RoutePublic
    base_value: float
    margin: float
    contributions: list[ContributionPublic] = Field(description="After, largest first")
    changes: list[ContributionChange] = Field(description="Largest change first")


# -- blind-first review (issue 18) ----------------------------------------------------------
class JudgementCreate(BaseModel):
    """The reviewer's own view, formed from the customer's data and statement before the
    model's score and explanation are shown."""

    model_config = ConfigDict(extra="forbid")
    expected_risk: Literal["low", "medium", "high"] = Field(
        description="How likely the reviewer thinks this customer is to leave")
    claim_view: Literal["agree", "disagree", "unsure"] = Field(
        description="Whether the reviewer thinks the customer's claim about their data is "
                    "right")


class JudgementPublic(BaseModel):
    dispute_id: str
    expected_risk: str
    claim_view: str
    judged_by: str
    judged_at: datetime


class DataValue(BaseModel):
    """One value of the customer's data as the model read it (no contribution, no score)."""

    feature: str
    label: str
    value: Any
    display: str


class BlindItem(DisputePublic):
    """An open dispute under blind-first review before the reviewer's own judgement: the
    customer's data and statement, and no score, band or explanation."""

    customer_id: str | None = Field(description="The customer's raw id (staff only)")
    blind: bool = Field(default=True, description="The model's view is withheld until "
                        "the reviewer's own judgement is recorded (POST .../judgement)")
    data: list[DataValue] = Field(description="The customer's data as the model read it")
    other_open_disputes: int


ReviewItem.model_rebuild()
ReviewPage.model_rebuild()
