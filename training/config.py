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
    # One thread: on a shared 2-core machine LightGBM's OpenMP threads spin against each
    # other (a cross-validation measured 7x slower with 2 threads under load).
    threads: int = Field(default=1, ge=1)
    # rows held out for the honest estimate, never seen by feature selection (0: none)
    test_fraction: float = Field(default=0.2, ge=0.0, le=0.5)

    # guards (checked before anything is logged)
    # each cross-validation fold and the held-out rows need this many rows of each class
    min_class_per_fold: int = Field(default=5, ge=1)
    # a text or whole-number candidate with this share of distinct values is an identifier
    identifier_unique_share: float = Field(default=0.95, gt=0.5, le=1)
    # a text candidate whose categories seen once cover more than this share of the rows
    # (the estimated share of later customers with a category it never saw) is refused
    max_unseen_share: float = Field(default=0.02, ge=0, le=1)
    # a candidate that alone reaches this cross-validated ROC-AUC is a suspected leak
    leak_auc: float = Field(default=0.98, gt=0.5, le=1)

    # minimisation
    minimise: bool = True
    # total ROC-AUC the kept set may lose against the full candidate set
    minimise_tolerance: float = Field(default=0.005, ge=0, le=0.1)
    # a feature whose removal costs more than the step tolerance earns its place; the step
    # tolerance is this floor or `minimise_noise_multiplier` x the measured noise (the SD of
    # the cross-validated AUC over `minimise_noise_repeats` extra fold seeds), the larger
    minimise_step_tolerance: float = Field(default=0.0005, ge=0, le=0.1)
    minimise_noise_multiplier: float = Field(default=2.0, ge=0, le=10)
    minimise_noise_repeats: int = Field(default=3, ge=1, le=20)

    # retention campaign economics (per customer, in currency units)
    customer_value: float = Field(default=300.0, gt=0)
    contact_cost: float = Field(default=10.0, ge=0)
    offer_cost: float = Field(default=50.0, ge=0)
    acceptance_rate: float = Field(default=0.3, gt=0, le=1)  # fixed rate: MPC
    # EMPC: acceptance rate ~ Beta(alpha, beta) (Verbraken et al. 2013: 6, 14; mean 0.3)
    acceptance_alpha: float = Field(default=6.0, gt=0)
    acceptance_beta: float = Field(default=14.0, gt=0)

    # fairness audit
    # groups with fewer positives (or negatives) than this are merged, then reported apart
    fairness_min_group: int = Field(default=30, ge=1)
    fairness_bootstrap: int = Field(default=200, ge=0, le=5000)
    # the fairness gate decides on the point estimate or on the 95 % interval's upper end
    fairness_gate_on: Literal["point", "upper"] = "point"

    # promotion gates
    gate_min_roc_auc: float = Field(default=0.75, ge=0.5, le=1)
    gate_max_equalized_odds: float = Field(default=0.25, ge=0, le=1)
    gate_champion_tolerance: float = Field(default=0.01, ge=0, le=0.5)
    # promote a challenger whose contract (data set, target, features) differs from the
    # champion's: only when asked (make promote ALLOW_NEW_CONTRACT=1)
    allow_new_contract: bool = False

    # uplift model (issue 17, `make train-uplift`): its own registered model and gate
    uplift_model_name: str = "churn-uplift"
    # customers (all their rows) held out to evaluate the uplift model
    uplift_test_fraction: float = Field(default=0.3, gt=0.0, le=0.5)
    # each arm needs this many labelled rows, leavers and stayers each, to train at all
    uplift_min_per_arm: int = Field(default=100, ge=10)
    # uplift at k: the share of held-out customers ranked highest that contact would reach
    uplift_top_fraction: float = Field(default=0.3, gt=0.0, le=1.0)
    uplift_bootstrap: int = Field(default=200, ge=20, le=5000)

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
