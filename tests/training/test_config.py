"""Training settings refuse bad values at startup."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from training.config import DEV_PSEUDONYM_KEY, TrainSettings


def test_production_needs_a_pseudonym_key(monkeypatch):
    monkeypatch.delenv("CHURN_PSEUDONYM_KEY", raising=False)
    with pytest.raises(ValidationError, match="CHURN_PSEUDONYM_KEY is not set"):
        TrainSettings(mode="production")
    assert TrainSettings(mode="production", pseudonym_key="s3cret").pseudonym_secret == "s3cret"
    assert TrainSettings().pseudonym_secret == DEV_PSEUDONYM_KEY


def test_env_prefix_and_bounds(monkeypatch):
    monkeypatch.setenv("CHURN_MINIMISE_TOLERANCE", "0.01")
    assert TrainSettings().minimise_tolerance == 0.01
    monkeypatch.setenv("CHURN_CV_FOLDS", "1")
    with pytest.raises(ValidationError, match="cv_folds"):
        TrainSettings()


def test_mlflow_tracking_uri_is_honoured(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///elsewhere.db")
    assert TrainSettings().tracking_uri == "sqlite:///elsewhere.db"
