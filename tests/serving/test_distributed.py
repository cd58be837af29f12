"""Batch scoring on Dask gives exactly what the single-process path gives."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from serving.audit.service import BATCH_SCORED
from serving.batch import ramp_pieces, score_file
from serving.distributed import score_file_dask
from serving.storage import Database
from serving.storage.tables import Customer, Prediction, RetentionTask

pytestmark = pytest.mark.slow
SCHEMA = "training/datasets/synthetic.yaml"


def _state(db: Database) -> dict:
    with db.session() as s:
        # a customer listed in two chunks has two receipts (which one is the customer's
        # latest is in `latest`)
        predictions: dict[str, list] = {}
        for r in s.scalars(sa.select(Prediction)):
            predictions.setdefault(r.customer_ref, []).append(
                (round(r.score, 12), r.risk_band, r.shap, r.features, r.route_action,
                 r.route_reason, r.model_version))
        predictions = {ref: sorted(v) for ref, v in predictions.items()}
        latest = dict(s.execute(sa.select(Customer.customer_ref, Customer.latest_score)).all())
        tasks = sorted(s.scalars(sa.select(RetentionTask.customer_ref)
                                 .where(RetentionTask.status == "open")))
    return {"predictions": predictions, "latest": latest, "tasks": tasks}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_dask_result_is_identical_to_single_process(settings, host, tmp_path, fmt):
    from training.synthetic import generate

    frame = generate(3000, seed=21)
    # 40 customers listed again, with other values, chunks later: the later row must be
    # the one that stays on the risk list, so chunks must be written in file order
    again = frame.iloc[:2000].sample(40, random_state=2).index
    frame.loc[frame.index[-40:], "customer_id"] = frame.loc[again, "customer_id"].to_numpy()
    path = tmp_path / f"base.{fmt}"
    frame.to_parquet(path, index=False, row_group_size=700) if fmt == "parquet" \
        else frame.to_csv(path, index=False)

    single_db = Database(settings.database_url)
    single = score_file(settings, path, SCHEMA, db=single_db, host=host, chunk_rows=700)
    expected = _state(single_db)
    single_db.dispose()

    other_url = (f"sqlite:///{tmp_path}/dask.db" if settings.database_url.startswith("sqlite")
                 else None)
    if other_url is None:  # PostgreSQL: empty the same database and score again
        from tests.postgres import reset_schema

        reset_schema(settings.database_url)
        other_url = settings.database_url
    dask_settings = settings.model_copy(update={"database_url": other_url})
    report = score_file_dask(dask_settings, path, SCHEMA, workers=2, chunk_rows=700)
    db = Database(other_url)
    got = _state(db)
    db.dispose()

    # the first partition goes in pieces: each row is read and scored once all the same
    assert report.rows_read == report.scored == single.scored == len(frame)
    assert (report.prepared_in, single.prepared_in) == ("dask", "threads")
    assert sum(len(v) for v in got["predictions"].values()) == len(frame)
    assert 0 < report.setup_seconds and 0 <= report.teardown_seconds
    assert report.rows_per_second == pytest.approx(
        report.scored / (report.seconds - report.setup_seconds - report.teardown_seconds))
    assert report.human_contact == single.human_contact
    assert got["predictions"].keys() == expected["predictions"].keys()
    assert got["predictions"] == expected["predictions"]
    assert got["latest"] == expected["latest"]
    assert got["tasks"] == expected["tasks"]


def test_a_file_smaller_than_the_first_pieces(settings, tmp_path):
    """Fewer rows than pieces of the first partition: the empty pieces record nothing."""
    from training.synthetic import generate

    path = tmp_path / "tiny.parquet"
    generate(5, seed=3).to_parquet(path, index=False)
    report = score_file_dask(settings, path, SCHEMA, workers=1)
    assert report.rows_read == report.scored == 5
    db = Database(settings.database_url)
    with db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Prediction)) == 5
        summaries = s.scalars(sa.text("SELECT count(*) FROM audit_log WHERE action = :a"),
                              {"a": BATCH_SCORED}).one()
    db.dispose()
    assert summaries == sum(1 for lo, hi in ramp_pieces(5) if hi > lo) == 3


def _cluster(workers: int, threads: int = 1):  # noqa: ANN202
    from dask.distributed import LocalCluster

    return LocalCluster(n_workers=workers, threads_per_worker=threads, processes=True,
                        dashboard_address=None, silence_logs=40)


def test_a_named_scheduler_and_its_workers_do_the_scoring(settings, host, tmp_path):
    """DASK_SCHEDULER_ADDRESS: the run uses that cluster's workers (here one worker with two
    threads, so two chunks at once) and gives the single-process result; the workers get
    the model from this process, never from the registry."""
    from training.synthetic import generate

    path = tmp_path / "base.parquet"
    generate(1600, seed=8).to_parquet(path, index=False)
    single_db = Database(settings.database_url)
    score_file(settings, path, SCHEMA, rows=1500, db=single_db, host=host, chunk_rows=300)
    expected = _state(single_db)
    single_db.dispose()

    other = f"sqlite:///{tmp_path}/named.db"
    with _cluster(1, threads=2) as cluster:
        report = score_file_dask(settings.model_copy(update={"database_url": other}), path,
                                 SCHEMA, scheduler_address=cluster.scheduler_address,
                                 chunk_rows=300, rows=1500)
    db = Database(other)
    got = _state(db)
    db.dispose()
    assert report.rows_read == report.scored == 1500
    assert got == expected


def test_a_named_scheduler_without_workers_is_refused_clearly(settings, tmp_path,
                                                               monkeypatch):
    from serving import distributed
    from serving.batch import BatchError
    from training.synthetic import generate

    monkeypatch.setattr(distributed, "WORKER_WAIT_SECONDS", 1)
    path = tmp_path / "base.parquet"
    generate(20, seed=3).to_parquet(path, index=False)
    with _cluster(0) as cluster:
        with pytest.raises(BatchError) as err:
            score_file_dask(settings, path, SCHEMA, scheduler_address=cluster.scheduler_address)
    message = str(err.value)
    assert cluster.scheduler_address in message and "no worker" in message
    assert "dask worker" in message and "DASK_SCHEDULER_ADDRESS" in message
    db = Database(settings.database_url)
    with db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Prediction)) == 0
    db.dispose()
