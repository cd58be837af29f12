"""Dataset schema validation: each bad input gets one clear error naming where and how to fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models import pseudonymise
from models.dataset_schema import DatasetSchema, SchemaError
from training.data import DataError, load_table, prepare
from training.synthetic import SCHEMA_PATH, generate

KEY = "test-key"


@pytest.fixture()
def schema() -> DatasetSchema:
    return DatasetSchema.load(SCHEMA_PATH)


@pytest.fixture()
def frame() -> pd.DataFrame:
    return generate(300, seed=3)


def _csv(tmp_path: Path, frame: pd.DataFrame, name: str = "data.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_valid_data_is_split_into_roles(schema, frame):
    data = prepare(frame, schema, KEY)
    assert set(data.candidate_names).isdisjoint({"customer_id", "Churn", *schema.sensitive})
    assert list(data.sensitive.columns) == schema.sensitive
    assert data.y.mean() == pytest.approx((frame["Churn"] == "Yes").mean())
    assert data.pseudonyms.iloc[0] == pseudonymise(frame["customer_id"].iloc[0], KEY)


def test_missing_column_is_named(schema, frame):
    with pytest.raises(DataError, match=r"\['Partner'\].*not in the data.*Rename"):
        prepare(frame.drop(columns=["Partner"]), schema, KEY)


def test_wrong_target_values_are_listed(schema, frame):
    frame.loc[[4, 9], "Churn"] = "Maybe"
    with pytest.raises(DataError, match=r"must hold two values.*'Maybe'.*rows 6, 11"):
        prepare(frame, schema, KEY)


def test_positive_label_absent(schema, frame):
    frame["Churn"] = frame["Churn"].map({"Yes": "Y", "No": "N"})
    with pytest.raises(DataError, match=r"never holds the positive value 'Yes'.*\['N', 'Y'\]"):
        prepare(frame, schema, KEY)


def test_all_empty_column_is_named(schema, frame):
    frame["TechSupport"] = np.nan
    # a candidate empty in every row carries no information: dropped, and said so
    data = prepare(frame, schema, KEY)
    assert "TechSupport" not in data.candidate_names
    assert data.dropped_constant == {"TechSupport": "is empty in all 300 rows"}
    # scoring a fixed model, or an attribute the audit needs, it is refused
    with pytest.raises(DataError, match=r"'TechSupport' is empty in every row.*drop"):
        prepare(frame, schema, KEY, drop_constant=False)
    frame["TechSupport"] = "Yes"
    frame[schema.sensitive[0]] = np.nan
    with pytest.raises(DataError, match=rf"'{schema.sensitive[0]}' is empty in every row"):
        prepare(frame, schema, KEY)


def test_single_class_target(schema, frame):
    frame["Churn"] = "No"
    with pytest.raises(DataError, match=r"single class 'No'.*both churners and stayers"):
        prepare(frame, schema, KEY)


def test_mixed_type_column_names_rows(schema, frame):
    frame = frame.astype({"MonthlyCharges": object})
    frame.loc[7, "MonthlyCharges"] = "n/a"
    with pytest.raises(DataError, match=r"'MonthlyCharges' is declared numeric.*rows 9.*'n/a'"):
        prepare(frame, schema, KEY)


def test_numeric_text_is_coerced_and_blank_rows_kept(tmp_path, schema, frame):
    frame["TotalCharges"] = frame["TotalCharges"].map(lambda v: " " if pd.isna(v) else f"{v}")
    data = prepare(load_table(_csv(tmp_path, frame)), schema, KEY)
    assert "TotalCharges" in data.coerced
    assert data.candidates["TotalCharges"].dtype == np.float64
    assert len(data.candidates) == len(frame)
    assert data.candidates["TotalCharges"].isna().sum() == (frame["tenure"] == 0).sum()


def test_not_csv_or_parquet(tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(DataError, match=r"expected a CSV \(.csv\) or Parquet"):
        load_table(path)


def test_binary_garbage(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(DataError, match=r"(binary data|not UTF-8)"):
        load_table(path)


def test_wrong_delimiter(tmp_path, frame):
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False, sep=";")
    with pytest.raises(DataError, match=r"single column.*delimited by ';'"):
        load_table(path)


def test_truncated_file(tmp_path, frame):
    path = _csv(tmp_path, frame)
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(DataError, match=r"fewer fields than its 22-column header \(rows 1\d\d\)"):
        load_table(path)


def test_zero_rows(tmp_path, frame):
    path = _csv(tmp_path, frame.head(0))
    with pytest.raises(DataError, match=r"no data rows"):
        load_table(path)


def test_empty_file(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("")
    with pytest.raises(DataError, match=r"is empty"):
        load_table(path)


def test_parquet_is_read(tmp_path, schema, frame):
    path = tmp_path / "data.parquet"
    frame.to_parquet(path, index=False)
    assert len(prepare(load_table(path), schema, KEY).y) == len(frame)


def test_duplicate_ids(schema, frame):
    frame.loc[5, "customer_id"] = frame.loc[2, "customer_id"]
    with pytest.raises(DataError, match=r"repeats ids in rows 4, 7"):
        prepare(frame, schema, KEY)


def test_schema_file_errors_say_what_is_wrong(tmp_path):
    bad = tmp_path / "s.yaml"
    bad.write_text("name: x\ntarget: {column: Churn}\n")
    with pytest.raises(SchemaError, match=r"target.positive: Field required"):
        DatasetSchema.load(bad)
    bad.write_text("name: x\ntarget: {column: Churn, positive: 'Yes'}\nsensitive: [Churn]\n")
    with pytest.raises(SchemaError, match=r"both as target and as sensitive"):
        DatasetSchema.load(bad)
    with pytest.raises(SchemaError, match=r"does not exist"):
        DatasetSchema.load(tmp_path / "nope.yaml")


def test_yaml_boolean_positive_is_read_as_text(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: x\ntarget: {column: Churn, positive: Yes}\n")
    assert DatasetSchema.load(path).target.positive == "Yes"
