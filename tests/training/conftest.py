"""Training fixtures: a small synthetic model trained once per session into a temporary
MLflow store, and the paths of the real Telco reference data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from training.config import TrainSettings
from training.pipeline import TrainResult, train

REPO = Path(__file__).resolve().parents[2]
TELCO_CSV = REPO.parent / "shared" / "data" / "telco" / "WA_Fn-UseC_-Telco-Customer-Churn.csv"
TELCO_SCHEMA = REPO / "training" / "datasets" / "telco.yaml"


def make_settings(tmp: Path, **overrides) -> TrainSettings:
    """Settings writing every generated file under `tmp`."""
    values = dict(tracking_uri=f"sqlite:///{tmp}/mlflow.db", artifact_root=tmp / "artifacts",
                  reports_dir=tmp / "reports", synthetic_rows=4000, threads=1)
    values.update(overrides)
    return TrainSettings(**values)


@dataclass
class Trained:
    settings: TrainSettings
    result: TrainResult
    tmp: Path


@pytest.fixture(scope="session")
def synthetic_run(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """One full training run (minimisation on) on 4,000 synthetic customers."""
    tmp = tmp_path_factory.mktemp("train-synthetic")
    settings = make_settings(tmp)
    return Trained(settings, train(settings), tmp)


@pytest.fixture(scope="session")
def telco_run(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """The default pipeline on the real IBM Telco set."""
    assert TELCO_CSV.is_file(), f"reference data missing at {TELCO_CSV}"
    tmp = tmp_path_factory.mktemp("train-telco")
    settings = make_settings(tmp)
    return Trained(settings, train(settings, TELCO_CSV, TELCO_SCHEMA), tmp)
