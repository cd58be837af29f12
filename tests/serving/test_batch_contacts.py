"""The customer base file's contact column (issue 15): `contact_column:` in the dataset
schema gives each customer's address, stored apart from the features (customer_contacts),
never a feature, never in a receipt nor in MLflow, erased with the customer. An invalid
address is reported by its row, and the rest of the batch (that row's score included)
goes on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from fastapi.testclient import TestClient

from models.dataset_schema import DatasetSchema, SchemaError
from serving.batch import pseudonymiser, score_file
from serving.main import create_app
from serving.storage import Database
from serving.storage.tables import AuditEvent, CustomerContact, Prediction
from tests.serving.conftest import ADMIN_TOKEN, SYNTHETIC_SCHEMA, bearer, deliver, mailbox

BAD = {3: "not an address", 7: "two words@example.org", 11: "@"}  # data rows (0-based)


def _schema(tmp_path: Path, **extra) -> Path:  # noqa: ANN003
    raw = yaml.safe_load(SYNTHETIC_SCHEMA.read_text(encoding="utf-8"))
    raw.update(extra)
    path = tmp_path / "with_contacts.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def _base(tmp_path: Path, fmt: str, rows: int = 300):  # noqa: ANN202
    from training.synthetic import generate

    frame = generate(rows, seed=21)
    frame["email"] = [f"c{n}@example.org" for n in range(rows)]
    for n, bad in BAD.items():
        frame.loc[n, "email"] = bad
    frame.loc[5, "email"] = None  # no address known: nothing stored, nothing reported
    path = tmp_path / f"base.{fmt}"
    frame.to_csv(path, index=False) if fmt == "csv" else frame.to_parquet(path, index=False)
    return path, frame


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_addresses_are_stored_apart_and_bad_ones_reported_by_row(settings, host, tmp_path,
                                                                  fmt):
    path, frame = _base(tmp_path, fmt)
    db = Database(settings.database_url)
    report = score_file(settings, path, _schema(tmp_path, contact_column="email"), db=db,
                        host=host, chunk_rows=100)
    assert report.scored == len(frame)  # the rows with bad addresses are scored too
    assert report.contacts_invalid == len(BAD)
    assert report.contacts_invalid_rows == sorted(n + 1 for n in BAD)  # 1-based data rows
    assert report.contacts_stored == len(frame) - len(BAD) - 1
    assert "name@domain" in report.contacts_invalid_reason
    shown = str(report.as_dict())
    assert "not an address" not in shown and "two words" not in shown  # rows, not values
    pseudo = pseudonymiser(settings.pseudonym_secret)
    with db.session() as s:
        stored = dict(s.execute(sa.select(CustomerContact.customer_ref,
                                          CustomerContact.address)).all())
        receipts = [f for f in s.scalars(sa.select(Prediction.features))]
        events = [json.loads(e.objects) if isinstance(e.objects, str) else e.objects
                  for e in s.scalars(sa.select(AuditEvent).where(
                      AuditEvent.action == "contact.set"))]
    assert stored[pseudo(frame.loc[0, "customer_id"])] == "c0@example.org"
    assert all(pseudo(frame.loc[n, "customer_id"]) not in stored for n in [*BAD, 5])
    assert not any("@" in text for text in receipts)  # never in a receipt
    assert sum(e["stored"] for e in events) == report.contacts_stored
    assert not any("@" in str(e) for e in events)  # the audit counts, never addresses
    db.dispose()


def test_the_address_is_not_a_feature_and_goes_with_erasure(settings, host, tmp_path):
    path, frame = _base(tmp_path, "csv", rows=120)
    db = Database(settings.database_url)
    score_file(settings, path, _schema(tmp_path, contact_column="email"), db=db, host=host)
    assert "email" not in host.current().spec.feature_names
    cid = str(frame.loc[0, "customer_id"])
    with TestClient(create_app(settings, host=host)) as c:
        # the file's address is the one a notice goes to
        r = c.delete(f"/v1/customers/{cid}", headers=bearer(ADMIN_TOKEN))
        assert r.status_code == 200, r.text
        assert deliver(c.app)["sent"] == 1
        (erased,) = mailbox(settings, "c0@example.org")
        assert erased["Subject"] == "Your data has been erased"
    with db.session() as s:
        left = s.scalars(sa.select(CustomerContact.address)).all()
    assert "c0@example.org" not in left and len(left) == len(frame) - len(BAD) - 2
    db.dispose()


def test_training_never_takes_the_contact_column_as_a_feature(tmp_path):
    from training.data import prepare

    schema = DatasetSchema.load(_schema(tmp_path, contact_column="email"))
    assert "email" in schema.excluded
    from training.synthetic import generate

    frame = generate(200, seed=3)
    frame["email"] = [f"c{n}@example.org" for n in range(200)]
    prepared = prepare(frame, schema, "k" * 32)
    assert "email" not in prepared.candidates.columns
    frame["email"] = None  # an empty column (no addresses yet) is no error either
    assert "email" not in prepare(frame, schema, "k" * 32).candidates.columns
    with pytest.raises(SchemaError, match="can never be a feature"):
        DatasetSchema.load(_schema(tmp_path, contact_column="email",
                                   features={"email": {"description": "x"}}))
    with pytest.raises(SchemaError, match="listed both"):
        DatasetSchema.load(_schema(tmp_path, contact_column="email", drop=["email"]))


def test_make_score_on_dask_stores_the_addresses_too(settings, trained, tmp_path,
                                                      monkeypatch, capsys):
    """`make score` (the CLI's default path: a Dask LocalCluster) reads the contact column
    like the single-process path."""
    from serving import cli

    path, frame = _base(tmp_path, "csv", rows=150)
    monkeypatch.setenv("CHURN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CHURN_TRACKING_URI", trained.tracking_uri)
    monkeypatch.setenv("CHURN_MODEL_URI", trained.model_uri)
    schema = _schema(tmp_path, contact_column="email")
    assert cli.main(["score", "--data", str(path), "--schema", str(schema)]) == 0
    out = capsys.readouterr().out
    assert '"contacts_invalid_rows": [' in out and '"contacts_invalid": 3' in out
    db = Database(settings.database_url)
    with db.session() as s:
        stored = s.scalar(sa.select(sa.func.count()).select_from(CustomerContact))
    assert stored == len(frame) - len(BAD) - 1
    db.dispose()
