"""A batch file is read as training read the data: a category keeps its spelling whatever
type the file's reader would give it (integer codes in Parquet, True/False or "None" in a
CSV), an id keeps its leading zeros, and a number column's "NA" is an unknown value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient

from models.encoding import category_text
from serving.batch import read_chunks, score_file
from serving.main import create_app
from serving.modelhost import ModelHost
from serving.storage import Database
from serving.storage.tables import Prediction
from tests.serving.conftest import bearer


def test_categories_ids_and_missing_numbers_are_read_as_training_reads_them(tmp_path):
    path = tmp_path / "base.csv"
    path.write_text("id,Plan,Flag,Calls,Mail,Note\n"
                    "007,None, True,NA,a@example.org,x\n"
                    "008,NA,False,,NA,y\n"
                    "009, Basic ,True,3,,z\n")
    frame = next(read_chunks(path, ["id", "Plan", "Flag", "Calls", "Mail"], 10, None,
                             contact_column="Mail", text=["Plan", "Flag"]))
    assert frame["id"].tolist() == ["007", "008", "009"]
    # "None" and "NA" are categories here, as training read them; a blank is missing
    assert frame["Plan"].tolist()[:2] == ["None", "NA"]
    assert frame["Flag"].tolist() == ["True", "False", "True"]
    # a number column's "NA" and blank are unknown values
    assert np.isnan(frame["Calls"].iloc[0]) and np.isnan(frame["Calls"].iloc[1])
    assert frame["Calls"].iloc[2] == 3
    # an address is text; "NA" or nothing is no address
    assert frame["Mail"].iloc[0] == "a@example.org" and frame["Mail"].iloc[1:].isna().all()


def test_category_text_spells_every_type_as_training_does():
    assert category_text(pd.Series([1, 2, None], dtype="Int64")).tolist()[:2] == ["1", "2"]
    assert pd.isna(category_text(pd.Series([1, 2, None], dtype="Int64")).iloc[2])
    assert category_text(pd.Series([True, False])).tolist() == ["True", "False"]
    out = category_text(pd.Series([" Yes ", "", "  ", None], dtype=object))
    assert out.iloc[0] == "Yes" and out.iloc[1:].isna().all()


def _odd_base(rows: int, seed: int) -> pd.DataFrame:
    """Synthetic customers with a category of integer codes and one of True/False."""
    from training.synthetic import generate

    frame = generate(rows, seed=seed)
    frame["Region"] = (np.arange(rows) * 7 + seed) % 5
    frame["PaperlessBilling"] = frame["PaperlessBilling"] == "Yes"
    frame["customer_id"] = [f"00{i:06d}" for i in range(rows)]  # leading zeros
    return frame


@pytest.fixture(scope="module")
def odd_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A model trained on `_odd_base` from a Parquet file (Region: int64, declared
    categorical; PaperlessBilling: bool, declared categorical); its tracking URI and
    champion URI."""
    from training.config import TrainSettings
    from training.pipeline import train
    from training.registry import CHAMPION, set_alias

    tmp = tmp_path_factory.mktemp("odd-types")
    data, schema = tmp / "train.parquet", tmp / "schema.yaml"
    _odd_base(1500, seed=11).to_parquet(data, index=False)
    schema.write_text(yaml.safe_dump({
        "name": "odd-types", "id_column": "customer_id",
        "target": {"column": "Churn", "positive": "Yes"},
        "sensitive": ["gender", "SeniorCitizen", "Partner", "Dependents"],
        "features": {"Region": {"type": "categorical"},
                     "PaperlessBilling": {"type": "categorical"}}}))
    settings = TrainSettings(tracking_uri=f"sqlite:///{tmp}/mlflow.db",
                             artifact_root=tmp / "artifacts", reports_dir=tmp / "reports",
                             threads=1, minimise=False, n_estimators=40, cv_folds=3,
                             fairness_bootstrap=50, model_name="odd")
    result = train(settings, data, schema)
    set_alias("odd", CHAMPION, result.summary["model_version"])
    return settings.tracking_uri, "models:/odd@champion"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_batch_file_scores_every_row_with_categories_of_any_type(fmt, odd_model, settings,
                                                                  tmp_path, tokens):
    tracking, uri = odd_model
    served_settings = settings.model_copy(update={"tracking_uri": tracking, "model_uri": uri})
    host = ModelHost(served_settings)
    spec = host.load().spec
    assert spec.feature("Region").categories == ["0", "1", "2", "3", "4"]
    assert spec.feature("PaperlessBilling").categories == ["False", "True"]
    frame = _odd_base(300, seed=12)
    path = tmp_path / f"base.{fmt}"
    # CSV: Region 0-4 and True/False as text; Parquet: int64 and bool columns
    frame.to_csv(path, index=False) if fmt == "csv" else frame.to_parquet(path, index=False)
    schema = tmp_path / "schema.yaml"
    schema.write_text(yaml.safe_dump({"name": "odd-types", "id_column": "customer_id",
                                      "target": {"column": "Churn", "positive": "Yes"}}))
    db = Database(settings.database_url)
    report = score_file(served_settings, path, schema, db=db, host=host)
    assert report.skipped_invalid == 0, report.invalid_reasons
    assert report.scored == len(frame)

    # the receipt of a batch row equals the online one, where categories are strings
    row = frame.iloc[0]
    features = {f.name: (str(row[f.name]) if f.kind != "numeric" else float(row[f.name]))
                for f in spec.features}
    app = create_app(served_settings, host=host)
    with TestClient(app) as client:
        online = client.post("/v1/predictions", headers=bearer(tokens["agent"]),
                             json={"customer_id": row["customer_id"], "features": features})
        assert online.status_code == 201, online.text
        body = online.json()
    with db.session() as s:
        stored = s.query(Prediction).filter(Prediction.customer_ref == body["customer_ref"]
                                            ).all()
    db.dispose()
    assert len(stored) == 2  # the batch's and the API's, for the customer "00000000"
    batch, api = sorted(stored, key=lambda p: p.id)
    assert batch.features == api.features
    assert batch.score == pytest.approx(api.score, abs=1e-12)
