"""What the recourse routes answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from serving.scoring.schemas import ModelRef

RecourseStatus = Literal[
    "options",  # changes that bring the score below the high band
    "lowers_only",  # none reaches below it; these lower it most
    "none",  # nothing that can change lowers the score
    "no_levers",  # the served model marks no feature actionable (its schema has none)
    "already_below",  # the score is below the high band already: nothing to propose
    "restricted",  # a dispute is open: the record is not used until a reviewer decides
    "objected",  # the customer objected to profiling: they are not profiled
    "no_prediction",  # no prediction in use (never scored, or withdrawn by a reviewer)
    "model_changed",  # the stored values do not fit the served model: score them again
]


class RecourseChangePublic(BaseModel):
    """One feature changed by an option."""

    feature: str
    label: str
    before: Any = Field(description="The value in the customer's record")
    after: Any = Field(description="The value the option proposes")
    before_shown: str
    after_shown: str
    text: str = Field(description="The change in words")
    why: str | None = Field(default=None, description="Why this can change (the training "
                                                      "schema's reason)")


class RecourseContributionPublic(BaseModel):
    """A changed feature's exact SHAP contribution to the margin, before and after."""

    feature: str
    label: str
    before: float = Field(description="Its contribution to the margin (log-odds) in the "
                                      "customer's record")
    after: float = Field(description="Its contribution in the changed record")
    text_before: str
    text_after: str


class RecourseOptionPublic(BaseModel):
    """One way to lower the score: the smallest change that reaches it."""

    changes: list[RecourseChangePublic]
    score: float = Field(description="The calibrated score the served model gives the "
                                     "changed record (exactly: send `features` to "
                                     "POST /v1/predictions to check)")
    risk_band: Literal["low", "medium", "high"]
    margin: float
    distance: float = Field(description="Size of the change: each changed feature's share "
                                        "of its range (or of its order) summed")
    contributions: list[RecourseContributionPublic]
    others_shift: float = Field(description="How much the features left as they are moved "
                                            "the margin together (interactions)")
    features: dict[str, Any] = Field(description="The whole changed record")


class RecourseSearchPublic(BaseModel):
    """How far the exact search went."""

    levers: list[str] = Field(description="The actionable features this record lets move")
    candidates: int = Field(description="Changed records scored")
    max_changes: int = Field(description="Combinations of up to this many features searched")
    complete: bool = Field(description="Every combination up to the configured size was "
                                       "scored (False: the largest were left out by budget)")


class RecoursePublic(BaseModel):
    """What would lower a customer's risk, by the served model, or why nothing is
    proposed."""

    customer_ref: str
    status: RecourseStatus
    summary: str = Field(description="The answer in one plain sentence")
    prediction_id: str | None = None
    model: ModelRef | None = None
    score: float | None = Field(default=None, description="The record's score by the served "
                                                          "model now")
    risk_band: Literal["low", "medium", "high"] | None = None
    target: float = Field(description="The high band's threshold: options bring the score "
                                      "below it")
    options: list[RecourseOptionPublic] = Field(default_factory=list)
    search: RecourseSearchPublic | None = None
