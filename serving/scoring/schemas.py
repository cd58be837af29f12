"""Request and response bodies of the scoring routes."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from serving.config import MAX_BATCH

# A customer id is 1-200 characters, any but control characters (C0, DEL, C1), "/" and "\\",
# and not "." or "..": such an id can always be put in a URL path (percent-encoded) and
# routed back unchanged (a "/" is decoded before routing even as %2F, browsers turn "\\"
# into "/", and clients drop "." and ".." segments), so every id the API accepts can be
# erased (DELETE /v1/customers/{customer_id}) and linked. NUL and lone surrogates are
# refused at the edge (serving/system/textguard.py).
CUSTOMER_ID_PATTERN = r"^[^/\\\x00-\x1f\x7f-\x9f]+$"
CUSTOMER_ID_RULE = ("1-200 characters, none of them a control character, '/' or '\\', and "
                    "not '.' or '..'")
_ROUTABLE = re.compile(CUSTOMER_ID_PATTERN)


def customer_id_ok(value: str) -> bool:
    """`value` is a customer id the API accepts (the batch applies the same rule)."""
    return (0 < len(value) <= 200 and value not in (".", "..")
            and _ROUTABLE.fullmatch(value) is not None)


def _routable(value: str) -> str:
    if not customer_id_ok(value):
        raise ValueError(f"a customer id is {CUSTOMER_ID_RULE}")
    return value


CustomerId = Annotated[str, Field(
    min_length=1, max_length=200, json_schema_extra={"pattern": CUSTOMER_ID_PATTERN},
    description=f"The customer's id in your systems: {CUSTOMER_ID_RULE}"),
    AfterValidator(_routable)]


class ScoreRequest(BaseModel):
    """One customer to score: their id and the model's features (GET /v1/model lists them)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "example": {"customer_id": "7590-VHVEG",
                    "features": {"Contract": "Month-to-month", "tenure": 1}}})

    customer_id: CustomerId
    features: dict[str, Any] = Field(description="Feature name -> value")
    customer_value: float | None = Field(
        default=None, ge=0, le=1e9, allow_inf_nan=False, strict=True,
        description="What keeping this customer is worth (e.g. a year of charges): uplift "
        "targeting's value, expected retained value = uplift x value - contact cost. Not a "
        "feature; unset: CHURN_CUSTOMER_VALUE")


BatchScoreRequest = Annotated[
    list[ScoreRequest], Field(min_length=1, max_length=MAX_BATCH,
                              description=f"Up to {MAX_BATCH} customers in one call")
]
# POST /v1/predictions takes one or the other (the route and its fast path validate with it)
ScoreBody = ScoreRequest | BatchScoreRequest


class ModelRef(BaseModel):
    name: str
    version: str
    contract_version: str | None = Field(
        default=None, description="The served contract's version (`GET /v1/model`): the "
        "one a prediction was made under, or a preview scored with (receipts made before "
        "contract versions existed have none)")


class ContributionPublic(BaseModel):
    """One feature's exact share (TreeSHAP, log-odds) of the score, in plain words."""

    feature: str
    label: str
    value: Any = Field(description="The value the model read (null when missing)")
    shap: float
    text: str = Field(description="A plain-language sentence about this factor")


class RoutePublic(BaseModel):
    """Where the prediction goes: a person (`human_contact`) or nowhere (`none`).
    No route ever sends a message, offer or price change by itself."""

    action: Literal["human_contact", "none"]
    reason: str


class TargetingPublic(BaseModel):
    """The targeting rule a receipt was routed by (issue 17), as staff read it: `risk`
    (the band decides), or `uplift` (contact is proposed only when the expected retained
    value of a call, uplift x customer value - contact cost, is above zero)."""

    rule: Literal["risk", "uplift"]
    uplift: float | None = Field(
        default=None, description="Estimated fall in the chance of leaving a contact brings "
        "(negative: contact is estimated to push the customer away)")
    customer_value: float | None = Field(default=None, description="The customer's value used")
    expected_value: float | None = Field(
        default=None, description="Expected retained value of a call: uplift x value - cost")


class PredictionPublic(BaseModel):
    """A stored prediction (decision receipt) with its explanation and routing."""

    prediction_id: str
    customer_ref: str = Field(description="Keyed pseudonym of the customer id")
    model: ModelRef
    score: float = Field(description="Calibrated churn probability")
    risk_band: Literal["low", "medium", "high"]
    base_value: float = Field(description="Expected raw margin (log-odds)")
    margin: float = Field(description="Raw model output (log-odds) = base_value + sum(shap)")
    contributions: list[ContributionPublic]
    route: RoutePublic
    retention_task_id: str | None = Field(
        default=None, description="The open human-contact task this prediction is attached to"
    )
    targeting: TargetingPublic | None = Field(
        default=None, description="The targeting rule it was routed by (staff only)")
    created_at: datetime
