"""A large batch file prepared in a child process (`serving.batchproc`) stores exactly
what the threads store; the child's errors come out as the threads' would, and neither
side is left running when the other stops."""

import gzip
import multiprocessing
import os
import pickle
import signal

import numpy as np
import pytest
import sqlalchemy as sa

from serving import batch
from serving.batch import BatchError, estimated_rows, in_child, prepare_chunk, score_file
from serving.batchproc import PrepareLost
from serving.storage import Database
from serving.storage.tables import Customer, Prediction, RetentionTask

SCHEMA = "training/datasets/synthetic.yaml"


def _messy_base(tmp_path, rows=1600, fmt="parquet"):
    """A customer base with what a real file holds: a customer listed twice, rows
    without an id or with one the API refuses, values outside the model's domain."""
    from training.synthetic import generate

    frame = generate(rows, seed=21)
    frame.loc[160, "customer_id"] = frame.loc[190, "customer_id"]  # twice, in one chunk
    frame["customer_id"] = frame["customer_id"].astype(object)
    frame.loc[20, "customer_id"] = None
    frame.loc[30, "customer_id"] = "a/b"  # the API would refuse it
    frame.loc[40, "tenure"] = -5
    frame.loc[1300, "MonthlyCharges"] = float("nan")
    path = tmp_path / f"base.{fmt}"
    frame.to_csv(path, index=False) if fmt == "csv" else frame.to_parquet(path, index=False)
    return path


def _stored(db):
    with db.session() as s:
        receipts = sorted(
            (p.customer_ref, p.score, p.margin, p.base_value, p.risk_band, p.features, p.shap,
             p.route_action, p.route_reason, p.source, p.withdrawn, p.arm, p.targeting)
            for p in s.scalars(sa.select(Prediction)))
        entries = sorted(
            (c.customer_ref, c.external_id, c.latest_score, c.latest_band)
            for c in s.scalars(sa.select(Customer)))
        tasks = sorted((t.customer_ref, t.score, t.reason, t.status)
                       for t in s.scalars(sa.select(RetentionTask)))
        linked = s.scalar(sa.select(sa.func.count()).select_from(Customer).join(
            Prediction, Prediction.id == Customer.latest_prediction_id))
    return receipts, entries, tasks, linked


_TIMES = ("seconds", "setup_seconds", "teardown_seconds")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_the_child_stores_exactly_what_the_threads_store(base_settings, host, tmp_path, fmt):
    path = _messy_base(tmp_path, fmt=fmt)
    results = {}
    for name, limit in (("threads", 10**9), ("child", 0)):
        url = f"sqlite:///{tmp_path}/{name}.db"
        settings = base_settings.model_copy(update={"database_url": url,
                                                    "batch_process_rows": limit,
                                                    "batch_commit_rows": 500})
        assert in_child(settings, path) == (name == "child")
        db = Database(url)
        report = score_file(settings, path, SCHEMA, db=db, host=host, chunk_rows=300)
        results[name] = ({k: v for k, v in report.as_dict().items()
                          if k not in _TIMES and k != "rows_per_second"}, _stored(db))
        db.dispose()
    threads, child = results["threads"], results["child"]
    assert (threads[0].pop("prepared_in"), child[0].pop("prepared_in")) == (
        "threads", "child process")
    assert child == threads
    report, (receipts, entries, tasks, linked) = child
    assert report["scored"] == len(receipts) == linked == len(entries)  # one chunk
    assert report["duplicate_ids"] == 1 and report["skipped_without_id"] == 1
    assert report["skipped_invalid"] == 2 and report["invalid_reasons"]["tenure: out of range"]
    assert report["human_contact"] == len(tasks) > 0


def test_the_child_path_on_each_database(settings, host, tmp_path):
    """The child only prepares: the writes are this process's, on SQLite and PostgreSQL."""
    path = _messy_base(tmp_path, rows=900)
    db = Database(settings.database_url)
    child = settings.model_copy(update={"batch_process_rows": 0})
    report = score_file(child, path, SCHEMA, db=db, host=host, chunk_rows=200)
    receipts, entries, tasks, linked = _stored(db)
    assert report.scored == len(receipts) == len(entries) == linked
    assert report.duplicate_ids == 1
    assert report.open_tasks_after == len(tasks) == report.human_contact
    # a re-run opens no second task, as with the threads
    again = score_file(child, path, SCHEMA, db=db, host=host, chunk_rows=200)
    assert again.open_tasks_before == again.open_tasks_after == len(tasks)
    db.dispose()


def _children():
    return [p for p in multiprocessing.active_children() if p.name == "churn-batch-prepare"]


def test_an_error_in_the_child_is_raised_as_the_threads_raise_it(base_settings, host,
                                                                  tmp_path):
    from training.synthetic import generate

    path = tmp_path / "short.csv"
    generate(300, seed=2).drop(columns=["Contract"]).to_csv(path, index=False)
    settings = base_settings.model_copy(update={
        "database_url": f"sqlite:///{tmp_path}/e.db", "batch_process_rows": 0})
    db = Database(settings.database_url)
    with pytest.raises(BatchError, match=r"lacks the columns \['Contract'\]"):
        score_file(settings, path, SCHEMA, db=db, host=host)
    assert not _children()
    db.dispose()


def test_a_failing_writer_stops_the_child(base_settings, host, tmp_path, monkeypatch):
    path = _messy_base(tmp_path, rows=3000)
    settings = base_settings.model_copy(update={
        "database_url": f"sqlite:///{tmp_path}/w.db", "batch_process_rows": 0})
    db = Database(settings.database_url)
    write = batch.ChunkWriter.write
    seen = []

    def failing(self, chunk):
        seen.append(len(_children()))
        if len(seen) == 2:
            raise OSError("disk full")
        write(self, chunk)

    monkeypatch.setattr(batch.ChunkWriter, "write", failing)
    with pytest.raises(OSError, match="disk full"):
        score_file(settings, path, SCHEMA, db=db, host=host, chunk_rows=200)
    assert seen == [1, 1]  # the child was running, and was stopped
    assert not _children()
    with db.session() as s:  # the failed transaction left nothing
        assert s.scalar(sa.select(sa.func.count()).select_from(Prediction)) == 0
    db.dispose()


def test_a_child_that_dies_fails_the_run_and_keeps_what_was_committed(base_settings, host,
                                                                     tmp_path, monkeypatch):
    path = _messy_base(tmp_path, rows=3000)
    settings = base_settings.model_copy(update={
        "database_url": f"sqlite:///{tmp_path}/k.db", "batch_process_rows": 0,
        "batch_commit_rows": 1})
    db = Database(settings.database_url)
    write = batch.ChunkWriter.write
    written = []

    def killing(self, chunk):
        write(self, chunk)
        written.append(len(chunk.predictions))
        if len(written) == 3:
            os.kill(_children()[0].pid, signal.SIGKILL)

    monkeypatch.setattr(batch.ChunkWriter, "write", killing)
    with pytest.raises(PrepareLost, match="ended .* before the file was done"):
        score_file(settings, path, SCHEMA, db=db, host=host, chunk_rows=200)
    assert not _children()
    with db.session() as s:  # every chunk written was committed (commit_rows=1)
        stored = s.scalar(sa.select(sa.func.count()).select_from(Prediction))
    assert stored == sum(written) and len(written) >= 3
    db.dispose()


def test_a_child_killed_in_the_middle_of_a_chunk_fails_the_run_instead_of_hanging():
    """The child dies with a chunk half-way down the pipe (a chunk is larger than the
    pipe's buffer): the run fails with `PrepareLost` at once, instead of waiting forever
    for the rest of the message."""
    import threading
    import time

    from serving.batchproc import PreparedInChild
    from tests.serving.batch_child import OneHugeChunk

    prepared = PreparedInChild(OneHugeChunk())  # type: ignore[arg-type]
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            list(prepared)
        except BaseException as exc:  # noqa: BLE001 - the test's to judge
            outcome.append(exc)

    try:
        time.sleep(1.0)  # the chunk fills the pipe's buffer; the rest waits in the child
        os.kill(prepared._proc.pid, signal.SIGKILL)
        prepared._proc.join(10)
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(30)
        assert not reader.is_alive(), "the run waited for a message that will never end"
        assert len(outcome) == 1 and isinstance(outcome[0], PrepareLost), outcome
        assert "ended (exit code -9) before the file was done" in str(outcome[0])
    finally:
        prepared.close()


def test_a_chunk_crosses_a_process_as_columns_and_comes_back_whole(base_settings, host):
    from training.synthetic import generate

    chunk = prepare_chunk(host.current(), generate(500, seed=3), "customer_id",
                          base_settings, "sqlite")
    assert chunk.predictions and chunk.tasks
    again = pickle.loads(pickle.dumps(chunk))
    assert again == chunk
    assert type(again.predictions[0]) is type(chunk.predictions[0])
    assert type(again.customers[0]) is type(chunk.customers[0])
    assert type(again.tasks[0]) is type(chunk.tasks[0])
    empty = prepare_chunk(host.current(), generate(5, seed=3).iloc[:0], "customer_id",
                          base_settings, "sqlite")
    assert pickle.loads(pickle.dumps(empty)) == empty


def test_estimated_rows(tmp_path):
    from training.synthetic import generate

    frame = generate(2000, seed=1)
    frame.to_parquet(tmp_path / "a.parquet", index=False)
    frame.to_csv(tmp_path / "a.csv", index=False)
    with gzip.open(tmp_path / "a.csv.gz", "wt") as f:
        frame.to_csv(f, index=False)
    assert estimated_rows(tmp_path / "a.parquet") == 2000
    assert estimated_rows(tmp_path / "a.parquet", rows=50) == 50
    assert 1800 <= estimated_rows(tmp_path / "a.csv") <= 2200
    assert estimated_rows(tmp_path / "a.csv.gz") > 0
    assert estimated_rows(tmp_path / "missing.csv") == 0
    (tmp_path / "empty.csv").write_text("")
    assert estimated_rows(tmp_path / "empty.csv") == 0
    assert np.isclose(estimated_rows(tmp_path / "a.csv", rows=10), 10)
