"""Training you can trust (issue 13): any schema trains, guards stop identifiers, leaks and
tiny files before anything is logged, calibration is never certain, fairness means
something, provenance is logged, promotion compares like with like."""

from __future__ import annotations

import math
from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient
from scipy import integrate, stats

from models import CalibrationSpec, calibrate
from training.calibration import choose_calibration, fit_calibration
from training.cli import main
from training.data import DataError
from training.evaluation import empc, fairness_audit, sensitive_groups
from training.modeling import folds
from training.pipeline import evaluate, fit, train
from training.registry import CHALLENGER, CHAMPION, promote, version_by_alias
from training.synthetic import SCHEMA_PATH, generate

from .conftest import make_settings

FAST = dict(synthetic_rows=1500, minimise=False, n_estimators=40, cv_folds=3,
            fairness_bootstrap=50)
BASE_SCHEMA = yaml.safe_load(SCHEMA_PATH.read_text())


def _write(tmp: Path, frame: pd.DataFrame, **schema) -> tuple[Path, Path]:
    data, spec = tmp / "data.csv", tmp / "schema.yaml"
    frame.to_csv(data, index=False)
    spec.write_text(yaml.safe_dump({"name": "custom", **schema}))
    return data, spec


def _schema(**overrides) -> dict:
    base = {k: v for k, v in BASE_SCHEMA.items() if k != "name"}
    base.update(overrides)
    return base


# -- (a) every schema the README allows trains ------------------------------------------
@pytest.mark.slow
def test_empty_sensitive_list_trains_and_says_not_audited(tmp_path):
    frame = generate(1500, seed=3)
    data, spec = _write(tmp_path, frame, **_schema(sensitive=[],
                                                   drop=["gender", "SeniorCitizen", "Partner",
                                                         "Dependents"]))
    settings = make_settings(tmp_path, **FAST)
    result = train(settings, data, spec)
    summary = result.summary
    assert summary["fairness"] == {}
    assert summary["fairness_audit"]["audited"] is False
    assert "not audited" in summary["fairness_audit"]["note"]
    assert "max_equalized_odds_difference" not in summary["metrics"]
    mlflow.set_tracking_uri(settings.tracking_uri)
    run = MlflowClient().get_run(result.run_id)
    assert "max_equalized_odds_difference" not in run.data.metrics
    card = mlflow.artifacts.load_text(f"runs:/{result.run_id}/model_card.md")
    assert "Not audited" in card
    gate = promote(settings)
    assert gate.promoted
    assert any(p.startswith("fairness: not applicable") for p in gate.passed)


@pytest.mark.parametrize("case", ["no_id", "all_numeric", "all_categorical", "int_target",
                                  "bool_target"])
def test_every_schema_shape_fits(case, tmp_path):
    frame = generate(1500, seed=4)
    schema = _schema()
    if case == "no_id":
        frame = frame.drop(columns=["customer_id"])
        schema.pop("id_column")
    elif case == "all_numeric":
        keep = ["customer_id", "tenure", "MonthlyCharges", "TotalCharges", "SupportCalls",
                "Churn", *schema["sensitive"]]
        frame = frame[keep]
        schema["features"] = {k: v for k, v in schema["features"].items() if k in keep}
    elif case == "all_categorical":
        numeric = ["tenure", "MonthlyCharges", "TotalCharges", "SupportCalls"]
        frame = frame.drop(columns=numeric)
        schema["features"] = {k: v for k, v in schema["features"].items() if k not in numeric}
    elif case == "int_target":
        frame["Churn"] = (frame["Churn"] == "Yes").astype(int)
        schema["target"] = {"column": "Churn", "positive": 1}
    elif case == "bool_target":
        frame["Churn"] = frame["Churn"] == "Yes"
        schema["target"] = {"column": "Churn", "positive": True}
    data, spec = _write(tmp_path, frame, **schema)
    fitted = fit(make_settings(tmp_path, **FAST), data, spec)
    assert fitted.summary["metrics"]["roc_auc"] > 0.7
    assert 0.2 < fitted.summary["positive_rate"] < 0.45
    assert fitted.summary["honest"]["roc_auc"] > 0.7


# Column names a data set may well have that MLflow refuses in a metric or parameter name
# (parentheses, currency signs, commas, quotes, colons) or that only look unusual.
ODD_NAMES = {"tenure": "Tenure (months)", "MonthlyCharges": "Monthly charge, € [EUR]",
             "Contract": "Contract: \"type\"", "gender": "Gender (self-described)",
             "SeniorCitizen": "Âge ≥ 65?"}


@pytest.mark.slow
def test_column_names_mlflow_refuses_in_names_train_log_and_serve(tmp_path):
    """`train` logs every metric and parameter of a data set whose columns (features and
    sensitive attributes) carry characters MLflow refuses in a name; the registered model
    loads through MLflow and scores a record keyed by the original names."""
    frame = generate(1500, seed=5).rename(columns=ODD_NAMES)
    schema = _schema()
    schema["sensitive"] = [ODD_NAMES.get(c, c) for c in schema["sensitive"]]
    schema["features"] = {ODD_NAMES.get(k, k): v for k, v in schema["features"].items()}
    data, spec = _write(tmp_path, frame, **schema)
    settings = make_settings(tmp_path, **FAST)
    result = train(settings, data, spec)
    assert set(result.summary["fairness"]) == {"Gender (self-described)", "Âge ≥ 65?",
                                               "Partner", "Dependents"}
    mlflow.set_tracking_uri(settings.tracking_uri)
    run = MlflowClient().get_run(result.run_id)
    fairness = {k for k in run.data.metrics if k.startswith("fairness_")}
    # one metric per attribute and figure, under a name MLflow accepts
    assert {"fairness_Gender _self-described__demographic_parity_difference",
            "fairness_Âge _ 65__demographic_parity_difference"} <= fairness
    assert len(fairness) == sum(len(v) for v in result.summary["fairness"].values())
    assert run.data.params["selected_features"] == ",".join(result.summary["selected_features"])
    model = mlflow.pyfunc.load_model(result.summary["model_uri"]).unwrap_python_model()
    names = [f.name for f in model.spec.features]
    assert "Tenure (months)" in names
    record = frame.drop(columns=["customer_id", "Churn"]).iloc[[0]][names]
    assert 0.0 < float(model.score_frame(record)[0]) < 1.0


def test_booster_names_are_acceptable_to_lightgbm_and_distinct():
    from models import FeatureSpec
    from training.modeling import booster_feature_names

    features = [FeatureSpec(name=n, kind="numeric")
                for n in ["a:b", "a_b", 'q"uote [x], {y}', "line\nbreak", "plain name €"]]
    names = booster_feature_names(features)
    assert names == ["a_b", "a_b_2", "q_uote _x__ _y_", "line_break", "plain name €"]
    X = np.random.default_rng(0).random((60, len(names)))
    y = (X[:, 0] > 0.5).astype(int)
    booster = lgb.train({"verbose": -1}, lgb.Dataset(X, y, feature_name=names), 2)
    assert booster.num_trees() == 2


def test_mlflow_names_and_values_are_made_acceptable():
    from mlflow.utils.validation import validate_param_and_metric_name

    from training.pipeline import MAX_PARAM_CHARS, metric_key, param_value

    for name in ["Age (years)", "Balance €", "a:b", "x,y", "q\"uote", "tab\there", "Âge"]:
        key = metric_key(f"fairness_{name}_gap")
        assert validate_param_and_metric_name(key), key
        assert ":" not in key  # MLflow refuses a colon on Windows
    assert metric_key("fairness_Age_years_gap") == "fairness_Age_years_gap"  # untouched
    taken = {"fairness_a_b_gap"}
    assert metric_key("fairness_a(b_gap", taken) == "fairness_a_b_gap_2"
    assert metric_key("fairness_a(b_gap", taken | {"fairness_a_b_gap_2"}) == "fairness_a_b_gap_3"
    short = "a,b"
    assert param_value(short, "summary.json") == short
    long = ",".join(f"feature_{i:04d}" for i in range(1000))
    cut = param_value(long, "summary.json")
    assert len(cut) == MAX_PARAM_CHARS and cut.endswith("(cut: all of it in summary.json)")
    assert long.startswith(cut.split("...")[0])


@pytest.mark.parametrize("fmt", ["iso-csv", "day-first-csv", "parquet"])
def test_a_column_of_dates_is_refused_naming_the_fix(fmt, tmp_path):
    frame = generate(600, seed=6)
    days = pd.Timestamp("2020-01-01") + pd.to_timedelta(np.arange(600) % 900, unit="D")
    frame["SignupDate"] = (days.strftime("%d/%m/%Y") if fmt == "day-first-csv"
                           else days.strftime("%Y-%m-%d") if fmt == "iso-csv" else days)
    data, spec = _write(tmp_path, frame, **_schema())
    if fmt == "parquet":
        data = tmp_path / "data.parquet"
        frame.to_parquet(data, index=False)
    with pytest.raises(DataError, match=r"column 'SignupDate' holds dates .*"
                                        r"drop: \[SignupDate\]"):
        fit(make_settings(tmp_path, **FAST), data, spec)
    # dropped, it trains
    data2, spec2 = _write(tmp_path, frame, **_schema(drop=["SignupDate"]))
    assert "SignupDate" not in fit(make_settings(tmp_path, **FAST), data2,
                                   spec2).summary["candidate_features"]


class _Checked(Exception):
    """Raised by `fit`'s `checked` callback: the data passed every check."""


def _passes_checks(tmp_path: Path, data: Path, spec: Path) -> bool:
    def stop() -> None:
        raise _Checked

    try:
        fit(make_settings(tmp_path, **FAST), data, spec, checked=stop)
    except _Checked:
        return True
    return False


@pytest.mark.parametrize("written, value", [
    ("decimal comma", lambda x: f"{x:.2f}".replace(".", ",")),
    ("thousands comma", lambda x: f"{x * 100:,.2f}"),
    ("thousands dot, decimal comma", lambda x: f"{x * 100:,.1f}".replace(",", "_")
     .replace(".", ",").replace("_", ".")),
])
def test_numbers_written_with_a_comma_are_refused_naming_the_fix(written, value, tmp_path):
    """A European export (29,85) or thousands separators would make every amount a
    category of its own: refused with both readings and the fix; declared a category,
    it is kept as one."""
    frame = generate(1500, seed=6)
    frame["MonthlyCharges"] = [value(x) for x in frame["MonthlyCharges"]]
    assert frame["MonthlyCharges"].str.contains(",").any()
    data, spec = _write(tmp_path, frame, **_schema(features={}))
    with pytest.raises(DataError, match=r"column 'MonthlyCharges' holds numbers written with "
                                        r"a comma .*decimal point.*type: categorical"):
        fit(make_settings(tmp_path, **FAST), data, spec)
    declared = _schema(features={"MonthlyCharges": {"type": "categorical"}})
    data, spec = _write(tmp_path, frame, **declared)
    assert _passes_checks(tmp_path, data, spec)  # its rare categories too: declared


def test_a_column_declared_numeric_that_holds_no_number_is_refused(tmp_path):
    frame = generate(600, seed=6)
    frame["Plan"] = np.where(np.arange(600) % 2, "gold", "silver")
    data, spec = _write(tmp_path, frame, **_schema(features={"Plan": {"type": "numeric"}}))
    with pytest.raises(DataError, match=r"column 'Plan' is declared numeric but rows .* hold "
                                        r"text such as '(gold|silver)'"):
        fit(make_settings(tmp_path, **FAST), data, spec)


def test_a_column_of_rare_categories_is_refused_with_the_share_it_would_refuse(tmp_path):
    """A city of a few thousand values: about one later customer in ten would carry a city
    the model never saw (Good-Turing: the share of rows whose city appears once)."""
    rng = np.random.default_rng(3)
    frame = generate(1500, seed=7)
    frame["City"] = [f"city-{k}" for k in rng.integers(0, 2000, size=1500)]
    once = int((frame["City"].value_counts() == 1).sum())
    data, spec = _write(tmp_path, frame, **_schema())
    with pytest.raises(DataError) as info:
        fit(make_settings(tmp_path, **FAST), data, spec)
    message = str(info.value)
    assert f"column 'City' has {frame['City'].nunique():,} categories, {once:,} of them " \
           "seen only once" in message
    assert f"about {once / 1500:.1%} of the customers scored later" in message
    assert "CHURN_MAX_UNSEEN_SHARE" in message and "drop: [City]" in message
    # dropped, or declared a category, it passes; a looser setting lets it through too
    data, spec = _write(tmp_path, frame, **_schema(drop=["City"]))
    assert _passes_checks(tmp_path, data, spec)
    data, spec = _write(tmp_path, frame, **_schema(features={"City": {"type": "categorical"}}))
    assert _passes_checks(tmp_path, data, spec)


def test_a_few_rare_categories_are_kept(tmp_path):
    """Typos and one-off plans: fewer than ten categories seen once, or a small share of
    the rows, are no reason to refuse a column."""
    frame = generate(1500, seed=8)
    plans = np.array(["basic", "plus", "max"])[np.arange(1500) % 3].astype(object)
    plans[:9] = [f"one-off {k}" for k in range(9)]  # 9 seen once: too few to matter
    frame["Plan"] = plans
    data, spec = _write(tmp_path, frame, **_schema())
    assert _passes_checks(tmp_path, data, spec)
    plans[:25] = [f"one-off {k}" for k in range(25)]  # 25 of 1,500 rows: 1.7 %, under 2 %
    frame["Plan"] = plans
    data, spec = _write(tmp_path, frame, **_schema())
    assert _passes_checks(tmp_path, data, spec)


# -- (b) too little data ---------------------------------------------------------------
def test_twenty_row_file_is_refused_before_anything_is_logged(tmp_path, capsys, monkeypatch):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("CHURN_REPORTS_DIR", str(tmp_path / "reports"))
    data = tmp_path / "tiny.csv"
    generate(20, seed=1).to_csv(data, index=False)
    assert main(["train", "--data", str(data), "--schema", str(SCHEMA_PATH)]) == 2
    err = capsys.readouterr().err
    assert "too little data" in err and "20 rows" in err
    assert "CHURN_CV_FOLDS" in err and "Add rows" in err
    # refused before MLflow was even opened: no store, no run, no report
    assert not (tmp_path / "mlflow.db").exists()
    assert not (tmp_path / "reports").exists()


# -- (c) identifiers -------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["integer", "text"])
def test_undeclared_identifier_is_refused_naming_the_fix(kind, tmp_path):
    frame = generate(1500, seed=5)
    frame["account_no"] = np.arange(10_000_000, 10_001_500) if kind == "integer" else \
        [f"ACC-{i:06d}" for i in range(1500)]
    data, spec = _write(tmp_path, frame, **_schema())
    with pytest.raises(DataError, match="'account_no'.*identifier") as info:
        fit(make_settings(tmp_path, **FAST), data, spec)
    assert "id_column: account_no" in str(info.value)
    assert "drop: [account_no]" in str(info.value)


def test_measured_amounts_are_not_identifiers(tmp_path):
    # TotalCharges is nearly unique per row but it is an amount, not an id
    fitted = fit(make_settings(tmp_path, **FAST))
    assert "TotalCharges" in fitted.summary["candidate_features"]


# -- (d) leaks -------------------------------------------------------------------------
def _leaky(tmp_path: Path, **schema) -> tuple[Path, Path]:
    frame = generate(1500, seed=6)
    rng = np.random.default_rng(0)
    closed = (frame["Churn"] == "Yes") ^ (rng.random(len(frame)) < 0.005)
    frame["AccountStatus"] = np.where(closed, "closing", "active")
    return _write(tmp_path, frame, **_schema(**schema))


def test_leaking_column_is_refused(tmp_path):
    data, spec = _leaky(tmp_path)
    with pytest.raises(DataError, match="suspected leak: column.*'AccountStatus'") as info:
        fit(make_settings(tmp_path, **FAST), data, spec)
    assert "not_leaking: [AccountStatus]" in str(info.value)


def test_acknowledged_strong_column_trains_and_its_auc_is_reported(tmp_path):
    data, spec = _leaky(tmp_path, not_leaking=["AccountStatus"])
    fitted = fit(make_settings(tmp_path, **FAST), data, spec)
    single = fitted.summary["single_feature_auc"]
    assert single["AccountStatus"] >= 0.98
    assert 0.5 < single["Contract"] < 0.9
    rows = {r["feature"]: r for r in fitted.summary["minimisation"]["features"]}
    assert rows["Contract"]["single_feature_auc"] == pytest.approx(single["Contract"])


# -- (e) calibration -------------------------------------------------------------------
def test_no_calibration_map_serves_exactly_zero_or_one():
    rng = np.random.default_rng(0)
    margin = rng.normal(0, 3, 4000)
    y = (margin + rng.normal(0, 0.3, 4000) > 0).astype(int)  # almost separable
    extreme = np.array([-1e6, -50.0, -5.0, 0.0, 5.0, 50.0, 1e6])
    for method in ("none", "sigmoid", "isotonic"):
        spec = fit_calibration(margin, y, method)
        p = calibrate(extreme, spec)
        assert np.all(p > 0) and np.all(p < 1), (method, p)
        assert spec.low > 0 and spec.high < 1
    assert np.all(calibrate(extreme, CalibrationSpec(method="sigmoid", a=5.0)) < 1)


def test_calibration_prefers_the_simpler_map_and_reports_log_loss():
    rng = np.random.default_rng(1)
    margin = rng.normal(-1, 1.5, 6000)
    y = (rng.random(6000) < 1 / (1 + np.exp(-margin))).astype(int)  # already calibrated
    choice = choose_calibration(margin, y, folds(y, make_settings(Path("/tmp"))))
    assert choice.spec.method == "none", choice.rule
    assert set(choice.log_loss) == {"none", "sigmoid", "isotonic"}
    shifted = choose_calibration(margin + 1.5, y, folds(y, make_settings(Path("/tmp"))))
    assert shifted.spec.method != "none", shifted.rule  # a clear miscalibration is fixed
    assert "standard error" in shifted.rule


# -- (k) EMPC --------------------------------------------------------------------------
def test_empc_matches_a_direct_integration(tmp_path):
    settings = make_settings(tmp_path)
    rng = np.random.default_rng(2)
    y = (rng.random(600) < 0.3).astype(int)
    score = y * 0.8 + rng.random(600)
    order = np.argsort(-score, kind="stable")
    churners = np.concatenate([[0], np.cumsum(y[order])])
    k = np.arange(601)

    def best_profit(gamma: float) -> float:
        profit = (gamma * (settings.customer_value - settings.offer_cost) * churners
                  - settings.offer_cost * (k - churners) - settings.contact_cost * k) / 600
        return float(profit.max())

    density = stats.beta(settings.acceptance_alpha, settings.acceptance_beta).pdf
    expected, _ = integrate.quad(lambda g: best_profit(g) * density(g), 0, 1, limit=200)
    assert empc(y, score, settings, grid=2000).empc == pytest.approx(expected, rel=2e-3)
    # a Beta concentrated on the fixed rate gives back the fixed-rate MPC
    sharp = settings.model_copy(update={"acceptance_alpha": 3e5, "acceptance_beta": 7e5})
    assert empc(y, score, sharp).empc == pytest.approx(best_profit(0.3), rel=1e-3)


# -- (h) fairness ----------------------------------------------------------------------
def test_numeric_age_is_binned_and_gaps_are_meaningful():
    rng = np.random.default_rng(3)
    n = 6000
    age = rng.integers(18, 91, n)
    y = (rng.random(n) < 0.27).astype(int)
    selected = rng.random(n) < np.where(y == 1, 0.5, 0.1)
    region = np.char.add("R", rng.integers(0, 51, n).astype(str))
    sensitive = pd.DataFrame({"age": age.astype(str), "region": region})
    schema = BASE_SCHEMA | {"name": "x"}
    from models.dataset_schema import DatasetSchema

    groups, how = sensitive_groups(sensitive, DatasetSchema.model_validate(schema))
    assert how["age"] == "default age bands" and groups["age"].nunique() <= 6
    report = fairness_audit(y, selected, groups, min_group=30, n_boot=100)
    assert report.summary["age"]["equalized_odds_difference"] < 0.3
    assert report.merged["region"], "51 levels with ~32 churners each: small ones merged"
    assert report.summary["region"]["equalized_odds_difference"] < 0.5
    lo, hi = report.intervals["age"]["equalized_odds_difference"]
    assert lo <= report.summary["age"]["equalized_odds_difference"] <= hi
    assert {"churn_rate", "churn_rate_lo", "tpr_hi"} <= set(report.by_group.columns)


def test_schema_bins_define_the_groups():
    from models.dataset_schema import DatasetSchema

    schema = DatasetSchema.model_validate(BASE_SCHEMA | {
        "features": {"age": {"bins": [40, 65]}}, "sensitive": ["age"]})
    groups, how = sensitive_groups(pd.DataFrame({"age": ["20", "40", "70", "(missing)"]}),
                                   schema)
    assert how["age"] == "schema bins"
    assert groups["age"].tolist() == ["< 40", "40–65", ">= 65", "(missing)"]


# -- (f), (g) provenance and promotion ---------------------------------------------------
@pytest.mark.slow
def test_provenance_evaluation_and_like_for_like_promotion(tmp_path):
    settings = make_settings(tmp_path, **FAST)
    frame = generate(1500, seed=7)
    data, spec = _write(tmp_path, frame, **_schema())
    first = train(settings, data, spec)
    mlflow.set_tracking_uri(settings.tracking_uri)
    client = MlflowClient()
    inputs = client.get_run(first.run_id).inputs.dataset_inputs
    digests = {i.dataset.name: {t.key: t.value for t in i.tags}.get("sha256") for i in inputs}
    assert len(digests["custom-data"]) == 64 and len(digests["custom-schema"]) == 64
    assert digests["custom-data"] == first.summary["data_sha256"]
    assert promote(settings).promoted

    # evaluating on the training file: in-sample, with a warning, naming the version
    summary = evaluate(settings, "models:/churn@champion", data, spec)
    assert summary["evaluation"]["split"] == "in-sample" and "warning" in summary
    assert summary["model_uri"] == f"models:/churn/{first.model_version}"
    other = tmp_path / "other.csv"
    generate(800, seed=99, id_offset=500_000).to_csv(other, index=False)
    external = evaluate(settings, "models:/churn@champion", other, spec)
    assert external["evaluation"]["split"] == "external"
    assert client.get_run(external["run_id"]).data.tags["model_version"] == \
        first.model_version

    # a retrain on the same data and features is compared on the same held-out rows
    second = train(settings, data, spec)
    gate = promote(settings)
    assert any("both scored on the challenger's 300 held-out rows" in p for p in gate.passed)
    assert gate.promoted

    # a challenger from another data set is refused unless a new contract is allowed
    narrow = frame.drop(columns=["PaymentMethod", "SupportCalls"])
    data2, spec2 = tmp_path / "narrow.csv", tmp_path / "narrow.yaml"
    narrow.to_csv(data2, index=False)
    schema2 = _schema()
    schema2["features"] = {k: v for k, v in schema2["features"].items()
                           if k not in ("PaymentMethod", "SupportCalls")}
    spec2.write_text(yaml.safe_dump({"name": "narrow", **schema2}))
    third = train(settings, data2, spec2)
    refused = promote(settings)
    assert not refused.promoted
    text = " ".join(refused.failed)
    assert "contract" in text and "'narrow' instead of 'custom'" in text
    assert "ALLOW_NEW_CONTRACT=1" in text
    assert str(version_by_alias("churn", CHAMPION).version) == second.model_version
    allowed = promote(settings, allow_new_contract=True)
    assert allowed.promoted, allowed.report()
    assert str(version_by_alias("churn", CHAMPION).version) == third.model_version
    assert str(version_by_alias("churn", CHALLENGER).version) == third.model_version


def test_honest_and_selection_time_figures_are_both_reported(tmp_path):
    fitted = fit(make_settings(tmp_path, **FAST))
    honest = fitted.summary["honest"]
    assert honest["rows"] == 300 and "never seen by feature selection" in honest["split"]
    assert honest["roc_auc_lo"] <= honest["roc_auc"] <= honest["roc_auc_hi"]
    assert 0.7 < honest["baseline_logreg_roc_auc"] < 0.95
    assert "Selection-time" in fitted.summary["evaluation"]["method"]
    assert math.isfinite(fitted.metrics["honest_roc_auc"])


# -- (i) minimisation above the noise ------------------------------------------------------
def _derived_design(rows: int, seed: int):
    from models.dataset_schema import DatasetSchema
    from training.data import prepare
    from training.modeling import Design, feature_specs

    frame = generate(rows, seed=seed, derived=True)
    frame["tenure_copy"] = frame["tenure"]
    schema = DatasetSchema.model_validate(BASE_SCHEMA)
    prepared = prepare(frame, schema, "k")
    return Design.build(prepared.candidates, feature_specs(prepared.candidates, schema),
                        schema), prepared.y, schema


def test_duplicates_are_collapsed_keeping_the_described_one():
    from training.minimise import duplicate_groups

    design, _, schema = _derived_design(2000, 8)
    dropped = duplicate_groups(design, schema)
    assert dropped["tenure_copy"] == "tenure"  # tenure has schema notes, the copy none
    assert dropped.get("CallCharges") == "CallMinutes" or \
        dropped.get("CallMinutes") == "CallCharges"
    assert "MonthlyCharges" not in dropped and "TotalCharges" not in dropped


@pytest.mark.slow
def test_minimisation_keeps_one_of_each_duplicate_and_reports_the_noise(tmp_path):
    data = tmp_path / "derived.csv"
    frame = generate(4000, seed=9, derived=True)
    frame["tenure_copy"] = frame["tenure"]
    frame.to_csv(data, index=False)
    fitted = fit(make_settings(tmp_path, fairness_bootstrap=20), data, SCHEMA_PATH)
    kept = set(fitted.summary["selected_features"])
    mini = fitted.summary["minimisation"]
    assert not {"tenure", "tenure_copy"} <= kept
    assert not {"CallMinutes", "CallCharges"} <= kept
    assert {"tenure", "Contract"} <= kept
    assert mini["duplicates"]["tenure_copy"] == "tenure"
    assert mini["noise_sd"] > 0
    assert mini["step_tolerance"] >= 2 * mini["noise_sd"] - 1e-12
    for row in mini["features"]:
        if not row["kept"] and row["step"] > 0:
            assert row["auc_change_when_removed"] >= -mini["step_tolerance"] - 1e-12, row
