from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from serving.scoring.schemas import ModelRef


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    ready: bool
    model_loaded: bool
    database: bool
    model: ModelRef | None = None
    detail: str | None = None


class FeaturePublic(BaseModel):
    name: str
    type: Literal["numeric", "categorical", "ordinal"]
    label: dict[str, str] = Field(description="Label by language (en, fr)")
    categories: list[str] | None = Field(default=None, description="Allowed values")
    value_labels: dict[str, dict[str, str]] | None = None
    min: float | None = Field(default=None, description="Lowest value seen in training")
    max: float | None = Field(default=None, description="Highest value seen in training")
    lower: float | None = Field(default=None, description=(
        "Numbers: the lowest value accepted (the input domain; part of the contract)"))
    upper: float | None = Field(default=None, description=(
        "Numbers: the highest value accepted (the input domain; part of the contract)"))
    integer: bool | None = Field(default=None, description=(
        "Numbers: whole numbers only (part of the contract)"))
    nullable: bool
    unit: dict[str, str] | None = None
    description: str | None = None
    purpose: str | None = None


class ThresholdsPublic(BaseModel):
    high: float
    medium: float
    human_review_margin: float


class TargetingRulePublic(BaseModel):
    """Who gets a retention task and in which order (issue 17): the model card's rule."""

    rule: Literal["risk", "uplift"] = Field(description="The rule applied now")
    requested: Literal["risk", "uplift"] = Field(description="CHURN_TARGETING")
    uplift_model: str | None = Field(default=None, description="The uplift model in force")
    customer_value: float = Field(description="CHURN_CUSTOMER_VALUE: the value of a customer "
                                  "whose own value is not known")
    contact_cost: float = Field(description="CHURN_CONTACT_COST: the cost of one call")
    control_fraction: float = Field(description="CHURN_CONTROL_FRACTION: the share held out")
    statement: str = Field(description="The rule in words")


class ModelPublic(BaseModel):
    """The served model: what it expects and how its scores are banded."""

    name: str
    version: str
    alias: str | None
    uri: str
    contract_version: str = Field(description=(
        "Short digest of the features' contract (names, kinds, categories, valid ranges, "
        "whole-number rules): it changes only when an admin accepts a new contract"))
    run_id: str | None
    dataset: str
    target: str
    trained_at: str
    loaded_at: datetime
    thresholds: ThresholdsPublic
    features: list[FeaturePublic]
    targeting: TargetingRulePublic | None = None


class ReloadResult(BaseModel):
    previous: ModelRef | None
    current: ModelRef
    changed: bool
    contract_version: str
    previous_contract_version: str | None = None
    contract_changed: bool = False


class CreateUserRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    role: Literal["agent", "reviewer", "admin", "integration", "auditor"]


class StaffUserCreated(BaseModel):
    user_id: str
    name: str
    role: str
    token: str = Field(description="Shown once; only its hash is stored")

