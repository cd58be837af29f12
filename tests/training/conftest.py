"""Training fixtures: full training runs on the synthetic and the Telco data, each done once
per test run into a temporary MLflow store (every session works on its own copy,
tests/artefacts.py), and the paths of the real Telco reference data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.artefacts import build_once, copy_store
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


def _run(factory: pytest.TempPathFactory, key: str, data: Path | None = None,
         schema: Path | None = None) -> Trained:
    """A full training run with the default settings (`make_settings`), done once per test
    run (tests/artefacts.py); the session gets its own copy of the store and reports, so
    what it logs or registers there is its own."""
    def build(tmp: Path) -> Trained:
        settings = make_settings(tmp)
        return Trained(settings, train(settings, data, schema), tmp)

    shared = build_once(factory, key, build)
    tmp = copy_store(shared.tmp, factory.mktemp(key))
    return Trained(make_settings(tmp), shared.result, tmp)


@pytest.fixture(scope="session")
def synthetic_run(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """One full training run (minimisation on) on 4,000 synthetic customers."""
    return _run(tmp_path_factory, "train-synthetic")


@pytest.fixture(scope="session")
def telco_run(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """The default pipeline on the real IBM Telco set."""
    assert TELCO_CSV.is_file(), f"reference data missing at {TELCO_CSV}"
    return _run(tmp_path_factory, "train-telco", TELCO_CSV, TELCO_SCHEMA)
