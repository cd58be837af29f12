"""A data scientist's own churn file (a bank's, not the telecom sample): what used to crash
or train something wrong now trains sensibly or stops with one error that says what was
expected, what came and the fix. Small generated frames only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from models.dataset_schema import DatasetSchema
from training.cli import main
from training.data import DataError, load_table, prepare
from training.guards import check_enough_data
from training.minimise import minimise
from training.modeling import Design, feature_specs, folds
from training.pipeline import fit, train
from training.registry import promote

from .conftest import make_settings

KEY = "test-key"
SCHEMA = {"name": "bank", "id_column": "CustomerId",
          "target": {"column": "Exited", "positive": 1}, "sensitive": ["Gender"],
          "drop": ["Surname"]}


def bank(rows: int = 600, seed: int = 0) -> pd.DataFrame:
    """A bank's customers, as the public "Churn_Modelling" set lays them out."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, rows)
    active = rng.integers(0, 2, rows)
    geography = rng.choice(["France", "Spain", "Germany"], rows)
    logit = -1.5 + 0.06 * (age - 40) - 1.0 * active + 0.8 * (geography == "Germany")
    return pd.DataFrame({
        "CustomerId": 15_600_000 + np.arange(rows),
        "Surname": [f"Name{i}" for i in rng.integers(0, rows, rows)],
        "Geography": geography,
        "Gender": rng.choice(["Female", "Male"], rows),
        "Age": age,
        "Balance": rng.normal(100_000, 30_000, rows).round(2),
        "IsActiveMember": active,
        "Exited": (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int),
    })


def schema(**overrides) -> DatasetSchema:
    return DatasetSchema.model_validate({**SCHEMA, **overrides})


def _files(tmp: Path, frame: pd.DataFrame, **overrides) -> tuple[Path, Path]:
    data, spec = tmp / "bank.csv", tmp / "bank.yaml"
    frame.to_csv(data, index=False)
    spec.write_text(yaml.safe_dump({**SCHEMA, **overrides}))
    return data, spec


# -- a weak or tiny set: selection must not crash, nor keep nothing ---------------------
def test_minimisation_keeps_one_feature_when_every_removal_is_free():
    # 150 rows and leaves of 100: no tree can split, every removal costs nothing; the
    # joint removal of all of them used to hand LightGBM an empty design (a traceback)
    frame = bank(150)
    data = prepare(frame, schema(), KEY)
    features = feature_specs(data.candidates, schema())
    design = Design.build(data.candidates, features, schema())
    settings = make_settings(Path("/nonexistent"), cv_folds=3, minimise_noise_repeats=1)
    result = minimise(design, data.y, settings, folds(data.y, settings), schema())
    assert len(result.selected) == 1
    assert {d.feature for d in result.decisions} == set(data.candidate_names)


def test_rows_too_few_for_a_leaf_are_refused_with_the_counts_and_the_fix():
    y = np.r_[np.ones(40), np.zeros(160)].astype(np.int8)
    settings = make_settings(Path("/nonexistent"), cv_folds=3)
    with pytest.raises(DataError, match=r"200 rows.*fitted on about 106 rows.*at least 100 "
                                        r"rows \(CHURN_MIN_CHILD_SAMPLES\).*at least 375 in all"
                                        r".*CHURN_MIN_CHILD_SAMPLES to at most 53"):
        check_enough_data(y, settings)
    check_enough_data(y, make_settings(Path("/nonexistent"), cv_folds=3,
                                       min_child_samples=53))
    check_enough_data(np.r_[np.ones(75), np.zeros(300)].astype(np.int8), settings)


def test_tiny_file_stops_the_command_with_one_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.setenv("CHURN_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("CHURN_CV_FOLDS", "3")
    data, spec = _files(tmp_path, bank(200))
    assert main(["train", "--data", str(data), "--schema", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: too little data for the model's leaf size")
    assert "Traceback" not in err
    assert not (tmp_path / "reports" / "last_run.json").exists()


# -- values and names training and serving would read differently ----------------------
def test_infinite_numbers_are_refused_naming_rows(tmp_path):
    frame = bank().astype({"Age": float, "Balance": object})
    frame.loc[[3, 8], "Age"] = np.inf  # whole numbers: used to overflow in the spec
    with pytest.raises(DataError, match=r"'Age' holds infinite values in rows 5, 10 \(such as "
                                        r"inf\); expected finite numbers.*leave the field"):
        prepare(frame, schema(), KEY)
    frame = bank().astype({"Balance": object})
    frame.loc[7, "Balance"] = "-inf"  # as a CSV writes it
    data, _ = _files(tmp_path, frame)
    with pytest.raises(DataError, match=r"'Balance' holds infinite values in rows 9 \(such "
                                        r"as -inf\)"):
        prepare(load_table(data), schema(), KEY)


def test_header_name_with_spaces_is_refused_as_serving_reads_it(tmp_path):
    path = tmp_path / "bank.csv"
    bank().rename(columns={"Age": " Age "}).to_csv(path, index=False)
    frame = load_table(path)
    assert " Age " in frame.columns  # as the header writes it (batch scoring reads that)
    with pytest.raises(DataError, match=r"column ' Age ' has spaces around its name.*could "
                                        r"not score this file.*name it 'Age'"):
        prepare(frame, schema(), KEY)
    # a column the model never reads may keep them
    prepare(frame, schema(drop=["Surname", "Age"]), KEY)


def test_header_naming_a_column_twice_is_refused(tmp_path):
    path = tmp_path / "bank.csv"
    bank().assign(Copy=1.0).rename(columns={"Copy": "Balance"}).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"names two columns 'Balance' \(columns 6 and 9 of "
                                        r"the header\); expected each column named once"):
        load_table(path)


# -- the fairness audit must measure something ------------------------------------------
def test_sensitive_attribute_with_one_group_is_refused():
    with pytest.raises(DataError, match=r"sensitive attribute 'Gender' holds the one value "
                                        r"'Male' in all 600 rows.*remove 'Gender' from"):
        prepare(bank().assign(Gender="Male"), schema(), KEY)


def test_sensitive_values_are_grouped_as_categories_are_read():
    frame = bank()
    frame.loc[::2, "Gender"] = frame["Gender"][::2] + " "
    frame.loc[:9, "Gender"] = "  "
    groups = prepare(frame, schema(), KEY).sensitive["Gender"]
    assert set(groups) == {"Female", "Male", "(missing)"}


@pytest.mark.parametrize(("target", "positive"), [
    (lambda y: y, True),  # `positive: true` on 0/1
    (lambda y: y.astype(bool), 1),  # `positive: 1` on True/False
])
def test_boolean_positive_reads_a_boolean_target(target, positive):
    frame = bank()
    data = prepare(frame.assign(Exited=target(frame["Exited"])),
                   schema(target={"column": "Exited", "positive": positive}), KEY)
    assert (data.y == frame["Exited"].to_numpy()).all()


def test_fairness_that_could_not_be_measured_fails_the_gate(tmp_path):
    # groups need 300 churners and stayers: none has, so no gap can be measured
    settings = make_settings(tmp_path, minimise=False, n_estimators=20, cv_folds=3,
                             min_child_samples=20, fairness_bootstrap=0,
                             fairness_min_group=300, gate_min_roc_auc=0.5)
    data, spec = _files(tmp_path, bank(600))
    result = train(settings, data, spec)
    assert result.summary["fairness_audit"]["audited"] is True
    gate = promote(settings)
    assert not gate.promoted
    assert any(f.startswith("fairness: not measured") and "CHURN_FAIRNESS_MIN_GROUP (300)" in f
               for f in gate.failed)


def test_a_tab_in_a_feature_name_leaves_the_model_able_to_explain(tmp_path):
    # LightGBM wrote the tab into its JSON dump unescaped: the model trained, and then
    # could not explain a single record (serving refused to load it)
    frame = bank().rename(columns={"IsActiveMember": "Active?\tmember"})
    data, spec = _files(tmp_path, frame)
    settings = make_settings(tmp_path, minimise=False, n_estimators=20, cv_folds=3,
                             min_child_samples=20, fairness_bootstrap=0)
    model = fit(settings, data, spec).model
    record = {"Geography": "Spain", "Age": 40.0, "Balance": 1000.0, "Active?\tmember": 1.0}
    explanation = model.explain_records([record])
    assert np.isfinite(explanation.score).all()
    assert "Active?\tmember" in model.spec.feature_names


def test_amounts_with_a_currency_sign_are_refused_as_numbers_not_categories():
    frame = bank().astype({"Balance": object})
    frame["Balance"] = [f"${v:,.2f}" for v in bank()["Balance"]]
    with pytest.raises(DataError, match=r"'Balance' holds numbers written with a currency or "
                                        r"percent sign \(such as '\$.*'\); expected plain "
                                        r"numbers.*unit: \{en: \.\.\., fr: \.\.\.\}\}\}\)\.$"):
        prepare(frame, schema(), KEY)
