"""The training run is a pure fit followed by logging; settings are logged from the object."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.pseudonym import DEV_PSEUDONYM_KEY
from training import config as training_config
from training.pipeline import Fitted, fit, settings_params

from .conftest import make_settings

FAST = dict(synthetic_rows=1500, minimise=False, n_estimators=40, cv_folds=3)


def test_fit_logs_nothing_and_writes_no_file(tmp_path):
    settings = make_settings(tmp_path, **FAST)
    fitted = fit(settings)
    assert isinstance(fitted, Fitted)
    assert fitted.spec.feature_names == fitted.summary["selected_features"]
    assert fitted.model.feature_names == fitted.spec.feature_names
    assert "run_id" not in fitted.summary
    assert list(Path(tmp_path).iterdir()) == [], "fit must not touch MLflow or the reports"


def test_params_come_from_the_settings_object(tmp_path):
    settings = make_settings(tmp_path, pseudonym_key="not-a-param", **FAST)
    params = settings_params(settings)
    dumped = settings.model_dump()
    for name in ("cv_folds", "n_estimators", "learning_rate", "minimise_tolerance",
                 "customer_value", "gate_min_roc_auc"):
        assert params[name] == dumped[name]
    assert "pseudonym_key" not in params and "not-a-param" not in str(params)
    assert not {"tracking_uri", "artifact_root", "reports_dir"} & set(params)


def test_dev_pseudonym_key_is_defined_once_in_models():
    assert training_config.DEV_PSEUDONYM_KEY is DEV_PSEUDONYM_KEY
    source = Path(training_config.__file__).read_text()
    assert "dev-only-pseudonym-key" not in source


@pytest.mark.slow
def test_champion_command_tells_make_run_whether_to_train(tmp_path, monkeypatch, capsys):
    from training.cli import main

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("CHURN_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    monkeypatch.setenv("CHURN_REPORTS_DIR", str(tmp_path / "reports"))
    for name, value in FAST.items():
        monkeypatch.setenv(f"CHURN_{name.upper()}", str(value))
    assert main(["champion"]) == 1
    assert not (tmp_path / "mlflow.db").exists(), "asking must not create the store"
    # what `make run` does on a fresh clone: train, then the gates in the same process
    assert main(["train", "--promote"]) == 0
    out = capsys.readouterr().out
    assert "registered churn v1 as @challenger" in out and "promoted version 1" in out
    assert main(["champion"]) == 0
    assert capsys.readouterr().out.strip() == "churn v1"
