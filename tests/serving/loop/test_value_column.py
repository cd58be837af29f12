"""Each customer's own value (issue 17): the dataset schema's optional `value_column:` names
a column of the customer base file (a year of charges, a contract value) that batch scoring
reads apart from the features, like `contact_column:`, for uplift targeting's expected
value; a cell that is no usable amount takes CHURN_CUSTOMER_VALUE and is counted; a feature
may be the value column too (it is read, not removed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from models.dataset_schema import DatasetSchema, SchemaError
from models.pseudonym import pseudonymise
from serving.batch import score_file
from serving.storage import monitoring as reads
from tests.serving.conftest import SYNTHETIC_SCHEMA
from tests.serving.loop.conftest import uplift_settings
from tests.serving.loop.test_three_paths import base_with_values, value_schema


def _schema(tmp_path: Path, **extra: object) -> Path:
    raw = yaml.safe_load(Path(SYNTHETIC_SCHEMA).read_text(encoding="utf-8")) | extra
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def test_the_schema_names_a_value_column_with_no_other_role(tmp_path: Path):
    schema = DatasetSchema.load(_schema(tmp_path, value_column="ContractValue"))
    assert schema.value_column == "ContractValue"
    # read, not removed: a feature may be the value (it stays a candidate for training)
    schema = DatasetSchema.load(_schema(tmp_path, value_column="MonthlyCharges"))
    assert "MonthlyCharges" not in schema.excluded
    for column, role in (("gender", "sensitive"), ("Churn", "target"),
                         ("customer_id", "id_column")):
        with pytest.raises(SchemaError, match=f"value_column and the {role}"):
            DatasetSchema.load(_schema(tmp_path, value_column=column))


def test_batch_reads_each_customers_value_and_counts_unusable_cells(settings, db, host,
                                                                   uplift_version,
                                                                   tmp_path: Path):
    frame = base_with_values(1500, seed=12)
    bad = frame.index[::50]  # not an amount, below zero: the default value instead
    frame["ContractValue"] = frame["ContractValue"].astype(object)
    frame.loc[bad[::2], "ContractValue"] = "unknown"
    frame.loc[bad[1::2], "ContractValue"] = -40
    frame.loc[frame.index[1::50], "ContractValue"] = None  # empty: the default, not counted
    path = tmp_path / "base.csv"
    frame.to_csv(path, index=False)
    s = uplift_settings(settings, uplift_version, control_fraction=0.2, customer_value=321.0)
    report = score_file(s, path, value_schema(tmp_path), db=db, host=host)
    assert report.scored == len(frame)  # a bad value never stops a row being scored
    assert report.values_invalid == len(bad)
    own = {pseudonymise(str(r.customer_id), s.pseudonym_secret): r.ContractValue
           for r in frame.itertuples()}
    with db.session() as session:
        drawn = [r for r in reads.scored(session, with_features=True)
                 if r["arm"] in ("contact", "control")]
    assert len(drawn) > 100
    for r in drawn:
        raw = own[r["customer_ref"]]
        usable = isinstance(raw, int | float) and raw == raw and raw >= 0
        assert r["customer_value"] == (pytest.approx(float(raw)) if usable else 321.0)
        assert "ContractValue" not in json.loads(r["features"])  # never a feature


def test_a_feature_may_be_the_value_column(settings, db, host, uplift_version, tmp_path: Path):
    frame = base_with_values(800, seed=13)
    path = tmp_path / "base.parquet"
    frame.to_parquet(path, index=False)
    s = uplift_settings(settings, uplift_version, control_fraction=0.2)
    score_file(s, path, value_schema(tmp_path, "MonthlyCharges"), db=db, host=host)
    with db.session() as session:
        drawn = [r for r in reads.scored(session, with_features=True) if r["arm"]]
    assert drawn
    for r in drawn:
        features = json.loads(r["features"])
        assert r["customer_value"] == pytest.approx(features["MonthlyCharges"])  # read, kept
