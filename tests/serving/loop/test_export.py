"""Retraining from the live system (issue 17): the export leaves out restricted, objecting
and erased customers, uses rectified values and observed labels, records the arm, and
training accepts what it writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import sqlalchemy as sa
import yaml

from models import pseudonymise
from serving import cli
from serving.batch import score_file
from serving.loop.export import RECENT_FILE, SCHEMA_FILE, TRAIN_FILE, export_training
from serving.loop.outcomes import pseudonymised, record_churn_events
from serving.storage.tables import Customer, Prediction
from tests.serving.conftest import dispute_body, other_value
from tests.serving.loop.conftest import synthetic_base

SCHEMA = "training/datasets/synthetic.yaml"


def _prediction(api, app, customer_id, settings):
    ref = pseudonymise(customer_id, settings.pseudonym_secret)
    with app.state.db.session() as s:
        pid = s.scalar(sa.select(Customer.latest_prediction_id)
                       .where(Customer.customer_ref == ref))
    return api.get(f"/v1/predictions/{pid}").json()


def test_export_leaves_out_the_restricted_objecting_and_erased_uses_rectified_values_and_trains(
        api, app, host, settings, tmp_path, monkeypatch):
    path, frame = synthetic_base(tmp_path, 1200, seed=31)
    db = app.state.db
    score_file(settings, path, SCHEMA, db=db, host=host)
    then = datetime.now(UTC) - timedelta(days=120)
    with db.session() as s:  # the batch ran four months ago
        s.execute(sa.update(Prediction).values(created_at=then))
        s.commit()
        left = frame[frame["Churn"] == "Yes"]["customer_id"].astype(str)
        record_churn_events(s, pseudonymised(
            ((cid, (then + timedelta(days=30)).date()) for cid in left),
            settings.pseudonym_secret), "test", source="file")
    ids = frame["customer_id"].astype(str).tolist()
    restricted, objected, erased, fixed = ids[:4]
    # restricted: a dispute stays open; objected: by phone; erased by an admin
    p = _prediction(api, app, restricted, settings)
    r = api.post(f"/v1/customers/{restricted}/assisted/disputes",
                 json=dispute_body(p, host))
    assert r.status_code == 201, r.text
    assert api.post(f"/v1/customers/{objected}/assisted/objections").status_code == 201
    assert api.client.delete(f"/v1/customers/{erased}",
                             headers=api.headers("admin")).status_code == 200
    # rectified: a reviewer corrects a numeric value
    p = _prediction(api, app, fixed, settings)
    spec = host.current().spec
    num = next(f for f in spec.features if f.kind == "numeric")
    stored = next(c["value"] for c in p["contributions"] if c["feature"] == num.name)
    right = other_value(num, stored)
    contested = {"contested_features": [{"feature": num.name, "claimed_value": right}]}
    d = api.post(f"/v1/customers/{fixed}/assisted/disputes",
                 json=dispute_body(p, host) | contested)
    assert d.status_code == 201, d.text
    decided = api.post(f"/v1/disputes/{d.json()['dispute_id']}/decision", role="reviewer",
                       json={"decision": "rectified", "rationale": "checked the contract",
                             "corrected_features": {num.name: right}})
    assert decided.status_code == 201, decided.text

    out = tmp_path / "export"
    with db.session() as s:
        report = export_training(s, out, settings.label_horizon_days, recent_fraction=0.2)
    table = pd.concat([pd.read_parquet(out / TRAIN_FILE), pd.read_parquet(out / RECENT_FILE)])
    refs = {cid: pseudonymise(cid, settings.pseudonym_secret) for cid in ids}
    # one row per customer but the three left out; no raw id anywhere
    assert set(table["customer_ref"]) == {refs[c] for c in ids[1:] if c not in
                                          (objected, erased)}
    assert not set(ids) & set(table["customer_ref"])
    assert (report.left_out_restricted, report.left_out_objected, report.left_out_erased) == \
        (1, 1, 1)
    assert report.training_rows + report.recent_rows == len(table) == len(ids) - 3
    # observed labels: who left within the horizon
    churned = set(frame.loc[frame["Churn"] == "Yes", "customer_id"].astype(str))
    by_ref = table.set_index("customer_ref")
    assert all(by_ref.loc[refs[c], "Churn"] == ("Yes" if c in churned else "No")
               for c in ids[3:])
    # the rectified value replaces the stored one
    row = by_ref.loc[refs[fixed]]
    assert row[num.name] == right and bool(row["rectified"]) and report.rectified == 1
    assert (by_ref.drop(index=refs[fixed])["rectified"] == False).all()  # noqa: E712
    # the arm is recorded (both arms: half the high scores were held out)
    assert {"contact", "control", "none"} <= set(table["arm"])
    schema = yaml.safe_load((out / SCHEMA_FILE).read_text())
    assert schema["name"] == spec.dataset and schema["id_column"] == "customer_ref"
    assert set(schema["features"]) == set(spec.feature_names)
    assert {"arm", "scored_at", "task_outcome"} <= set(schema["drop"])
    # what an uplift-ranked queue was ranked by travels with each row, recorded, never a
    # feature (test_targeting.py); under risk targeting it is empty
    value_cols = ["uplift", "customer_value", "expected_value"]
    assert set(value_cols) <= set(schema["drop"]) and table[value_cols].isna().all().all()

    # training accepts the files, and keeps the served contract
    from training.config import TrainSettings
    from training.pipeline import train

    ts = TrainSettings(tracking_uri=f"sqlite:///{tmp_path}/retrain.db",
                       artifact_root=tmp_path / "art", reports_dir=tmp_path / "rep",
                       minimise=False, n_estimators=40, cv_folds=2, model_name="churn",
                       threads=2)
    result = train(ts, out / TRAIN_FILE, out / SCHEMA_FILE)
    assert result.model_version
    assert sorted(result.summary["selected_features"]) == sorted(spec.feature_names)
    import mlflow

    card = mlflow.artifacts.load_text(f"runs:/{result.run_id}/model_card.md")
    assert "control group" in card and "hold out a random share" in card
    # make retrain's last step: challenger and champion on the same recent rows (here the
    # champion is the same version, so every change is 0), rows neither trained on
    from mlflow import MlflowClient

    from training.compare import compare, table

    MlflowClient(ts.tracking_uri).set_registered_model_alias("churn", "champion",
                                                             str(result.model_version))
    compared = compare(ts, out / RECENT_FILE, out / SCHEMA_FILE)
    for alias in ("challenger", "champion"):
        m = compared["models"][alias]
        assert m["rows"] == report.recent_rows and m["split"] == "external", m
        assert 0.5 < m["metrics"]["roc_auc"] <= 1
    assert compared["challenger_minus_champion"]["roc_auc"] == 0
    assert "challenger against champion" in table(compared)

    # the command writes the same files
    monkeypatch.setenv("CHURN_DATABASE_URL", settings.database_url)
    again = tmp_path / "again"
    assert cli.main(["export-training", "--out", str(again)]) == 0
    assert len(pd.read_parquet(again / TRAIN_FILE)) == report.training_rows
