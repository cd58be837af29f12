"""A data scientist's own churn file (a bank's, not the telecom sample): what used to crash
or train something wrong now trains sensibly or stops with one error that says what was
expected, what came and the fix. Small generated frames only."""

from __future__ import annotations

import json
import re
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

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


# -- a column that is the same for every customer carries no information -----------------
def _with_constants(rows: int = 600) -> pd.DataFrame:
    frame = bank(rows)
    frame["Branch"] = "Paris"  # one value in every row
    frame["Products"] = 1  # one number in every row
    frame["Notes"] = np.nan  # empty in every row
    frame["Card"] = np.where(np.arange(rows) % 3 == 0, "Gold", None)  # a value or missing
    return frame


def test_constant_columns_are_dropped_and_reported_whether_minimised_or_not():
    data = prepare(_with_constants(), schema(), KEY)
    assert "Card" in data.candidate_names  # a value or missing still tells customers apart
    assert not {"Branch", "Products", "Notes"} & set(data.candidate_names)
    assert data.dropped_constant == {
        "Branch": "holds the one value 'Paris' in all 600 rows",
        "Products": "holds the one value 1 in all 600 rows",
        "Notes": "is empty in all 600 rows"}


def test_constant_column_is_not_a_feature_with_minimisation_off(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.setenv("CHURN_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("CHURN_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    for name, value in {"MINIMISE": "false", "CV_FOLDS": "3", "N_ESTIMATORS": "20",
                        "MIN_CHILD_SAMPLES": "20", "FAIRNESS_BOOTSTRAP": "0",
                        "GATE_MIN_ROC_AUC": "0.5"}.items():
        monkeypatch.setenv(f"CHURN_{name}", value)
    data, spec = _files(tmp_path, _with_constants())
    assert main(["train", "--data", str(data), "--schema", str(spec)]) == 0
    out = capsys.readouterr()
    assert "dropped as constant (no information): Branch: holds the one value 'Paris' in " \
           "all 600 rows; Products: holds the one value 1 in all 600 rows; Notes: is empty " \
           "in all 600 rows" in out.out
    summary = json.loads((tmp_path / "reports" / "last_run.json").read_text())
    assert summary["selected_features"] == ["Geography", "Age", "Balance", "IsActiveMember",
                                            "Card"]
    assert summary["dropped_constant"]["Branch"] == "holds the one value 'Paris' in all 600 rows"
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    run = MlflowClient().get_run(summary["run_id"])
    assert run.data.params["dropped_constant"] == (
        "Branch: holds the one value 'Paris' in all 600 rows; Products: holds the one value "
        "1 in all 600 rows; Notes: is empty in all 600 rows")
    card = mlflow.artifacts.load_text(f"runs:/{summary['run_id']}/model_card.md")
    assert "`Branch`: holds the one value 'Paris' in all 600 rows" in card


def test_every_candidate_constant_is_refused_with_the_fix():
    frame = bank()[["CustomerId", "Surname", "Gender", "Exited"]].assign(Branch="Paris",
                                                                          Notes=np.nan)
    with pytest.raises(DataError, match=r"every candidate feature is constant.*'Branch' holds "
                                        r"the one value 'Paris' in all 600 rows; 'Notes' is "
                                        r"empty in all 600 rows.*expected at least one column "
                                        r"whose values differ.*Check the export"):
        prepare(frame, schema(), KEY)


def test_evaluation_keeps_a_column_constant_in_its_file():
    # a fixed model scores whatever its features hold: one contract type in this file is
    # still the model's input
    frame = _with_constants().drop(columns=["Notes"])
    data = prepare(frame, schema(), KEY, drop_constant=False)
    assert {"Branch", "Products"} <= set(data.candidate_names)
    assert data.dropped_constant == {}


# -- a column the header does not name --------------------------------------------------
def _unnamed_csv(path: Path, values: list[str]) -> None:
    frame = bank()
    header = list(frame.columns)
    header.insert(8, "")  # column 9 of the header is left empty
    lines = [",".join(header)]
    for i, row in enumerate(frame.astype(str).itertuples(index=False)):
        cells = list(row)
        cells.insert(8, values[i % len(values)])
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")


def test_column_without_a_name_is_refused_by_its_position(tmp_path):
    path = tmp_path / "bank.csv"
    _unnamed_csv(path, ["3", "7", ""])
    with pytest.raises(DataError) as refused:
        prepare(load_table(path), schema(), KEY)
    message = str(refused.value)
    assert re.search(r"column 9 has no name in the header row but holds values \(such as "
                     r"'3' in row 2\).*expected every column named.*Name it in the header "
                     r"row.*or remove the column from the file", message)
    assert "Unnamed" not in message


def test_empty_column_without_a_name_is_ignored_and_reported(tmp_path):
    # a spreadsheet's export often ends every line with a comma the header does not name
    path = tmp_path / "bank.csv"
    _unnamed_csv(path, [""])
    data = prepare(load_table(path), schema(), KEY)
    assert data.candidate_names == ["Geography", "Age", "Balance", "IsActiveMember"]
    assert data.dropped_constant == {
        "column 9 (no name in the header row)": "is empty in all 600 rows"}


def test_unnamed_column_the_schema_drops_by_pandas_name_is_still_dropped(tmp_path):
    path = tmp_path / "bank.csv"
    _unnamed_csv(path, ["3", "7"])
    data = prepare(load_table(path), schema(drop=["Surname", "Unnamed: 8"]), KEY)
    assert "Unnamed: 8" not in data.candidate_names


def test_rows_with_more_fields_than_the_header_are_refused(tmp_path):
    # pandas (and batch scoring) would take the first column for the row index and shift
    # every name onto the next column's values
    path = tmp_path / "bank.csv"
    frame = bank()
    text = frame.to_csv(index=False).splitlines()
    path.write_text("\n".join([text[0]] + [line + "," for line in text[1:]]) + "\n")
    with pytest.raises(DataError, match=r"rows 2, 3, 4, 5, 6 and more have 9 fields but the "
                                        r"header names 8.*column 9 has no name in the header "
                                        r"row.*would be read shifted.*remove the comma at the "
                                        r"end of each row, or name column 9 in the header"):
        load_table(path)


def test_parquet_column_without_a_name_is_refused_by_its_position(tmp_path):
    path = tmp_path / "bank.parquet"
    frame = bank()
    frame.insert(3, "", frame["Age"] * 2)
    frame.to_parquet(path, index=False)
    with pytest.raises(DataError, match=r"column 4 of .*bank.parquet has no name.*Name it"):
        prepare(load_table(path), schema(), KEY)
    frame = _with_constants()
    frame.to_parquet(path, index=False)
    data = prepare(load_table(path), schema(), KEY)
    assert set(data.dropped_constant) == {"Branch", "Products", "Notes"}
    assert data.candidates["Balance"].dtype == np.float64
    # Parquet numbers carry their own nulls: text "NA" among them is text, as batch
    # scoring reads a Parquet file (such a row is "not a number" there)
    _marked(bank(), "Balance").astype({"Balance": str}).to_parquet(path, index=False)
    with pytest.raises(DataError, match=r"'Balance' mixes numbers and text.*'NA'"):
        prepare(load_table(path), schema(), KEY)


# -- a number column's missing markers, read as batch scoring reads them -----------------
MARKERS = ["NA", "N/A", "NaN", "null", "", "#N/A", "NULL", "n/a", "None"]


def _marked(frame: pd.DataFrame, column: str, text: str | None = None) -> pd.DataFrame:
    frame = frame.astype({column: object})
    for i, marker in enumerate(MARKERS):
        frame.loc[10 * i + 1, column] = marker
    if text is not None:
        frame.loc[[4, 44], column] = text
    return frame


def test_missing_markers_in_a_number_column_are_missing_values(tmp_path):
    data, _ = _files(tmp_path, _marked(bank(), "Balance"))
    prepared = prepare(load_table(data), schema(), KEY)
    balance = prepared.candidates["Balance"]
    assert balance.dtype == np.float64
    assert balance.isna().to_numpy().nonzero()[0].tolist() == [10 * i + 1
                                                                for i in range(len(MARKERS))]
    assert "Balance" in prepared.coerced
    # a tenth of the rows missing no longer turns the numbers into categories
    frame = bank().astype({"Age": object})
    frame.loc[::8, "Age"] = "NA"
    data, _ = _files(tmp_path, frame)
    age = prepare(load_table(data), schema(), KEY).candidates["Age"]
    assert age.dtype == np.float64 and age.isna().sum() == 75


def test_text_in_a_number_column_with_missing_markers_is_still_refused(tmp_path):
    data, _ = _files(tmp_path, _marked(bank(), "Balance", text="lots"))
    with pytest.raises(DataError, match=r"'Balance' mixes numbers and text.*rows 6, 46 hold "
                                        r"text such as 'lots'"):
        prepare(load_table(data), schema(), KEY)
    declared = {"features": {"Balance": {"type": "numeric"}}}
    with pytest.raises(DataError, match=r"'Balance' is declared numeric but rows 6, 46 hold "
                                        r"text such as 'lots'"):
        prepare(load_table(data), schema(**declared), KEY)


def test_a_category_keeps_na_as_batch_scoring_reads_it(tmp_path):
    frame = bank()
    frame.loc[::7, "Geography"] = "NA"  # Namibia, or a category of its own
    data, _ = _files(tmp_path, frame)
    geography = prepare(load_table(data), schema(), KEY).candidates["Geography"]
    assert (geography == "NA").sum() == len(frame.index[::7])


def test_training_and_batch_scoring_read_a_number_column_alike(tmp_path):
    from serving.batch import read_chunks

    data, _ = _files(tmp_path, _marked(bank(), "Balance"))
    trained = prepare(load_table(data), schema(), KEY).candidates["Balance"]
    batch = next(read_chunks(data, ["CustomerId", "Geography", "Balance"], 10_000, None,
                             text=["Geography"]))["Balance"]
    assert (trained.isna().to_numpy() == batch.isna().to_numpy()).all()
    assert np.allclose(trained.dropna().to_numpy(), batch.dropna().to_numpy())


def test_row_index_saved_without_a_name_is_refused_with_the_hint(tmp_path):
    path = tmp_path / "bank.csv"
    bank().to_csv(path)  # pandas' own index, its header cell left empty
    with pytest.raises(DataError, match=r"column 1 has no name in the header row but holds "
                                        r"values \(such as '0' in row 2\).*row index saved "
                                        r"with the data.*to_csv\(index=False\)"):
        prepare(load_table(path), schema(), KEY)
