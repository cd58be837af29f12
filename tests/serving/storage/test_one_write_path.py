"""The three paths that make receipts (online, batch, review) write them alike."""

import sqlalchemy as sa

from serving.batch import score_file
from serving.storage import Database
from serving.storage.tables import Prediction
from tests.serving.conftest import clean

SCHEMA = "training/datasets/synthetic.yaml"
# what a receipt says about the customer and the model: everything but its id, time,
# source and actor
SAME = ("customer_ref", "model_name", "model_version", "score", "margin", "base_value",
        "risk_band", "features", "shap", "route_action", "route_reason")


def _receipts(db: Database, source: str) -> dict[str, tuple]:
    with db.session() as s:
        rows = s.execute(sa.select(*(getattr(Prediction, c) for c in SAME))
                         .where(Prediction.source == source)).all()
    return {r[0]: tuple(r) for r in rows}


def test_a_batch_receipt_and_an_online_receipt_are_byte_identical(settings, host, api,
                                                                  tmp_path):
    from training.synthetic import generate

    frame = generate(300, seed=23)
    names = host.current().model.feature_names
    # missing values too: both paths must write them as null
    frame.loc[frame.index[::7], names[0]] = None
    path = tmp_path / "base.csv"
    frame.to_csv(path, index=False)
    db = Database(settings.database_url)
    report = score_file(settings, path, SCHEMA, db=db, host=host, chunk_rows=64)
    assert report.scored == len(frame)

    records = [{"customer_id": str(r["customer_id"]),
                "features": {n: clean(r[n]) for n in names}}
               for r in frame.to_dict(orient="records")]
    for i in range(0, len(records), 100):
        r = api.score(records[i:i + 100])
        assert r.status_code == 201, r.text

    batch, online = _receipts(db, "batch"), _receipts(db, "api")
    assert len(batch) == len(online) == len(frame)
    assert batch.keys() == online.keys()
    differ = [ref for ref in batch if batch[ref] != online[ref]]
    assert differ == [], f"{len(differ)} receipts differ, e.g. {batch[differ[0]]} vs " \
        f"{online[differ[0]]}"
    assert any(b"null" in r[SAME.index("features")].encode() for r in batch.values())
    db.dispose()


def test_one_record_requests_write_the_batch_receipt_byte_for_byte(settings, host, api,
                                                                   tmp_path):
    """A request of one record takes the online path's one-row shortcuts (LightGBM's
    single-row predictor, the values' JSON built row by row): its receipt is still the
    batch's, byte for byte, missing values included."""
    from training.synthetic import generate

    frame = generate(24, seed=29)
    names = host.current().model.feature_names
    frame.loc[frame.index[::5], names[0]] = None
    frame.loc[frame.index[1::6], names[-1]] = None
    path = tmp_path / "base.csv"
    frame.to_csv(path, index=False)
    db = Database(settings.database_url)
    assert score_file(settings, path, SCHEMA, db=db, host=host, chunk_rows=64).scored == 24
    for r in frame.to_dict(orient="records"):
        one = api.score({"customer_id": str(r["customer_id"]),
                         "features": {n: clean(r[n]) for n in names}})
        assert one.status_code == 201, one.text
    batch, online = _receipts(db, "batch"), _receipts(db, "api")
    assert len(online) == 24 and batch == online
    assert sum("null" in r[SAME.index("features")] for r in online.values()) >= 5
    db.dispose()
