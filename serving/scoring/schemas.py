"""Request and response bodies of the scoring routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from serving.config import MAX_BATCH

CustomerId = Annotated[str, Field(min_length=1, max_length=200,
                                  description="The customer's id in your systems")]


class ScoreRequest(BaseModel):
    """One customer to score: their id and the model's features (GET /v1/model lists them)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "example": {"customer_id": "7590-VHVEG",
                    "features": {"Contract": "Month-to-month", "tenure": 1}}})

    customer_id: CustomerId
    features: dict[str, Any] = Field(description="Feature name -> value")


BatchScoreRequest = Annotated[
    list[ScoreRequest], Field(min_length=1, max_length=MAX_BATCH,
                              description=f"Up to {MAX_BATCH} customers in one call")
]


class ModelRef(BaseModel):
    name: str
    version: str
    contract_version: str | None = Field(
        default=None, description="The served contract's version (`GET /v1/model`) the "
        "prediction was made under (receipts only; older receipts have none)")


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
    created_at: datetime
