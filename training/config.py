"""Training settings: read once from `CHURN_*` environment variables, checked at startup."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.pseudonym import DEV_PSEUDONYM_KEY

__all__ = ["DEV_PSEUDONYM_KEY", "TrainSettings"]


class TrainSettings(BaseSettings):
    """Everything `make train`, `make evaluate` and `make promote` can be told."""

    model_config = SettingsConfigDict(env_prefix="CHURN_", extra="ignore")

    mode: Literal["dev", "production"] = "dev"
    # HMAC key for customer-id pseudonyms. Required in production; dev falls back to a
    # fixed, public key so the first command works out of the box.
    pseudonym_key: SecretStr | None = None

    # MLflow (MLFLOW_TRACKING_URI, MLflow's own variable, wins over the default)
    tracking_uri: str = Field(
        default_factory=lambda: os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")
    )
    artifact_root: Path = Path("mlartifacts")
    experiment: str = "churn"
    model_name: str = "churn"
    reports_dir: Path = Path("reports")

    # data
    seed: int = 0
    synthetic_rows: int = Field(default=10_000, ge=500)

    # model and evaluation
    cv_folds: int = Field(default=5, ge=2, le=20)
    n_estimators: int = Field(default=300, ge=10)
    learning_rate: float = Field(default=0.05, gt=0, le=1)
    num_leaves: int = Field(default=4, ge=2)
    min_child_samples: int = Field(default=100, ge=1)
    threads: int = Field(default=2, ge=1)

    # minimisation
    minimise: bool = True
    # total ROC-AUC the kept set may lose against the full candidate set
    minimise_tolerance: float = Field(default=0.005, ge=0, le=0.1)
    # a feature whose removal costs more than this earns its place
    minimise_step_tolerance: float = Field(default=0.0005, ge=0, le=0.1)

    # retention campaign economics (per customer, in currency units)
    customer_value: float = Field(default=300.0, gt=0)
    contact_cost: float = Field(default=10.0, ge=0)
    offer_cost: float = Field(default=50.0, ge=0)
    acceptance_rate: float = Field(default=0.3, gt=0, le=1)

    # promotion gates
    gate_min_roc_auc: float = Field(default=0.75, ge=0.5, le=1)
    gate_max_equalized_odds: float = Field(default=0.25, ge=0, le=1)
    gate_champion_tolerance: float = Field(default=0.01, ge=0, le=0.5)

    @model_validator(mode="after")
    def _key_outside_dev(self) -> TrainSettings:
        if self.mode != "dev" and not self.pseudonym_key:
            raise ValueError(
                "CHURN_PSEUDONYM_KEY is not set; it is required when CHURN_MODE="
                f"{self.mode}. Set it to a long random secret (e.g. `openssl rand -hex 32`) "
                "and keep it with your other secrets: serving must use the same key."
            )
        return self

    @property
    def pseudonym_secret(self) -> str:
        return self.pseudonym_key.get_secret_value() if self.pseudonym_key else DEV_PSEUDONYM_KEY
