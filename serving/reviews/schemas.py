"""Bodies of the review queue, the rectification preview and decisions."""

from __future__ import annotations

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


class ReviewPage(BaseModel):
    items: list[ReviewItem] = Field(description="Oldest first")
    next_cursor: str | None = None


class PreviewCreate(BaseModel):
    """Corrected values to try, without deciding anything."""

    model_config = ConfigDict(extra="forbid")
    corrected_features: PlainDict = Field(min_length=1)


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
