"""Request and response bodies of disputes and their decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from serving.scoring.schemas import PredictionPublic

DecisionKind = Literal["upheld", "rectified", "overturned"]


NUL = "nul_character"
_EXACT = 2 ** 53  # integers up to this are floats exactly


def plain(value: Any) -> Any:
    """Refuse what the database cannot store faithfully: NUL characters, in any text of
    the value (their own error type, the `problem` of the 422). Whether a value is a
    finite number the model can read is the rulebook's call (`serving.disputes.rules`),
    in the encoder's words. Walked without recursion: JSON nests deeper than Python's
    stack goes."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise PydanticCustomError(NUL, "text may not contain NUL characters")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return value


def _trimmed(value: Any) -> Any:
    """A person's free text without the spaces around it (anything else as it came, for
    the type check to refuse)."""
    return value.strip() if isinstance(value, str) else value


def _claimed(value: Any) -> Any:
    """A claimed value as it came (the rulebook judges it), an exact integer as a float
    (10 and 10.0 are one claim: stored, and hashed for Idempotency-Key, alike)."""
    plain(value)
    if type(value) is int and -_EXACT <= value <= _EXACT:
        return float(value)
    return value


Text = Annotated[str, AfterValidator(plain)]
# free text written by a person: trimmed before its length is checked
Trimmed = Annotated[str, BeforeValidator(_trimmed), AfterValidator(plain)]
# any JSON value: a boolean, a list, NaN... are refused by `rules`, one error per claim
ClaimedValue = Annotated[Any, AfterValidator(_claimed), WithJsonSchema(
    {"anyOf": [{"type": "number"}, {"type": "string"}]})]
PlainDict = Annotated[dict[str, Any], AfterValidator(plain)]


class ContestedFeature(BaseModel):
    """One factor the customer says is wrong, and the value they say is right."""

    model_config = ConfigDict(extra="forbid")
    feature: Text = Field(min_length=1, max_length=100,
                          description="A feature of the contested prediction")
    claimed_value: ClaimedValue = Field(
        description="The right value as the customer sees it: a number or a category, not "
        "the value the prediction used (never negative for a quantity that cannot be)"
    )


class DisputeCreate(BaseModel):
    """A customer contests one of their predictions (customer token): at least one
    contested feature, or a statement. The claims are checked by `disputes.rules`."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "prediction_id": "0190f3c2-...", "statement": "I signed a two-year contract in May.",
        "contested_features": [{"feature": "Contract", "claimed_value": "Two year"}],
        "wants_human_review": True}})

    prediction_id: Text = Field(min_length=1, max_length=36)
    contested_features: list[ContestedFeature] = Field(default_factory=list, max_length=50)
    statement: Trimmed = Field(
        default="", max_length=4000, description="In the customer's words, without the "
        "spaces around them (never written to the audit log)")
    wants_human_review: bool = True

    @model_validator(mode="after")
    def _distinct_features(self) -> DisputeCreate:
        names = [c.feature for c in self.contested_features]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"each feature may be contested once; repeated: {', '.join(dup)}")
        return self


class ContestedFeaturePublic(BaseModel):
    feature: str
    label: str = Field(description="The factor in plain words")
    claimed_value: float | str | None
    value_used: Any = Field(description="The value the prediction used")


class ContributionChange(BaseModel):
    """One factor before and after a rectification (SHAP in log-odds)."""

    feature: str
    label: str
    value_before: Any
    value_after: Any
    shap_before: float
    shap_after: float
    change: float = Field(description="shap_after - shap_before")
    corrected: bool = Field(description="The reviewer corrected this value")
    text_after: str = Field(description="Plain-language sentence about the new value")


class DecisionCreate(BaseModel):
    """A reviewer's final decision on a dispute."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "decision": "rectified", "rationale": "The contract was changed on 3 May.",
        "corrected_features": {"Contract": "Two year"}}})

    decision: DecisionKind
    rationale: Trimmed = Field(
        max_length=4000, json_schema_extra={"minLength": 1},
        description="Why; shown to the customer (without the spaces around it; words, "
        "not spaces alone)")
    corrected_features: PlainDict | None = Field(
        default=None, description="rectified only, and required then: feature -> "
        "corrected value, for features the dispute contested (some or all of them; any "
        "other feature is refused, 422 at its field naming the contested ones; a dispute "
        "that contested no value cannot be rectified). Each value is checked against the "
        "served model like a prediction's and is never null: unknown is no correction. "
        "The field itself is left out, or null, for upheld and overturned (no correction); "
        "null with rectified is refused.")

    @model_validator(mode="after")
    def _corrections_only_when_rectified(self) -> DecisionCreate:
        if self.decision == "rectified" and not self.corrected_features:
            raise ValueError("corrected_features is required when the decision is rectified")
        if self.decision != "rectified" and self.corrected_features:
            raise ValueError("corrected_features is only for a rectified decision")
        return self


class DecisionPublic(BaseModel):
    """A decision and its effect. `rectified`: the new prediction and each contribution's
    change; `overturned`: the prediction is withdrawn from all use."""

    dispute_id: str
    decision: DecisionKind
    rationale: str
    decided_at: datetime
    decided_by: str
    prediction_id: str = Field(description="The contested prediction")
    prediction_withdrawn: bool
    corrected_features: dict[str, Any] | None = None
    new_prediction_id: str | None = None
    new_prediction: PredictionPublic | None = Field(
        default=None, description="rectified: the re-score with the corrected data")
    changes: list[ContributionChange] = Field(default_factory=list)
    restriction_lifted: bool = Field(
        description="The record is usable again (false while another dispute is open)")


class NoticePublic(BaseModel):
    """A message the customer was sent (issue 15): what and when, never its text or
    address."""

    message_id: str
    kind: str
    status: Literal["pending", "sending", "sent", "failed"]
    created_at: datetime
    sent_at: datetime | None = None


class DisputePublic(BaseModel):
    """A dispute: what was contested, its deadline, and its outcome once decided."""

    dispute_id: str
    status: Literal["open", "decided"]
    prediction_id: str
    customer_ref: str = Field(description="Keyed pseudonym of the customer")
    contested_features: list[ContestedFeaturePublic]
    statement: str
    wants_human_review: bool
    received_at: datetime
    due_by: datetime = Field(description="A decision is due within one month of receipt")
    days_left: int = Field(description="Whole days until due_by (negative when overdue)")
    overdue: bool
    decision: DecisionPublic | None = None
    assisted: bool = Field(default=False, description="Filed for the customer by a staff "
                           "member, on the phone (an assisted action)")
    assisted_by: str | None = Field(default=None, description="Who filed it, when assisted")
    notices: list[NoticePublic] = Field(
        default_factory=list, description="What the customer was told since the dispute "
        "was received (decision, rectification, restriction lifted), newest first")


class DisputeList(BaseModel):
    items: list[DisputePublic]
