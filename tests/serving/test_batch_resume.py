"""A batch run that died half way resumes when the same command runs again: the customers
its committed transactions scored are not scored a second time (drift, monitoring and the
dashboard read every batch receipt of the night), the rest are, and the report says so. A
run that completed, run again, is a new night and scores everyone again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from serving import batch, cli
from serving.batch import BatchError, score_file
from serving.loop.drift import batch_drift
from serving.specs import SpecCache
from serving.storage import Database
from serving.storage.tables import BatchRun, Customer, Prediction, RetentionTask

SCHEMA = "training/datasets/synthetic.yaml"
REPO = Path(__file__).resolve().parents[2]


class Crash(BaseException):
    """The process dying: nothing after it runs, the open transaction is lost."""


def _base(tmp_path, rows=1200, seed=31, fmt="csv"):
    from training.synthetic import generate

    frame = generate(rows, seed=seed)
    path = tmp_path / f"night.{fmt}"
    frame.to_csv(path, index=False) if fmt == "csv" else frame.to_parquet(path, index=False)
    return path, frame


def _receipts(db) -> dict[str, int]:
    """Batch receipts per customer."""
    with db.session() as s:
        return dict(s.execute(sa.select(Prediction.customer_ref, sa.func.count())
                              .where(Prediction.source == "batch")
                              .group_by(Prediction.customer_ref)).all())


def _open_tasks(db) -> dict[str, int]:
    with db.session() as s:
        return dict(s.execute(sa.select(RetentionTask.customer_ref, sa.func.count())
                              .where(RetentionTask.status.in_(("open", "claimed")))
                              .group_by(RetentionTask.customer_ref)).all())


def _crash_after(monkeypatch, commits: int) -> list[int]:
    """The writer dies at its commit number `commits + 1`, the chunks of that transaction
    stored but not committed; returns the rows committed before, per commit."""
    commit = batch.ChunkWriter.commit
    done: list[int] = []

    def dying(self):
        if self._session is not None and len(done) == commits:
            raise Crash
        scored = self.report.scored
        commit(self)
        if self.report.scored > scored:
            done.append(self.report.scored - scored)

    monkeypatch.setattr(batch.ChunkWriter, "commit", dying)
    return done


def _drift_rows(db, settings) -> list[int]:
    with db.session() as s:
        return [r.rows for r in batch_drift(s, SpecCache(), warn=settings.drift_psi_warn,
                                            alert=settings.drift_psi_alert)]


def _crashed_run(settings, host, monkeypatch, path, rows_per_commit: int, **kw):  # noqa: ANN001, ANN202
    """A run of `path` that dies at its second commit (the first committed): the database,
    the settings it ran with and the number of receipts committed."""
    db = Database(settings.database_url)
    s = settings.model_copy(update={"batch_commit_rows": rows_per_commit})
    _crash_after(monkeypatch, commits=1)
    with pytest.raises(Crash):
        score_file(s, path, SCHEMA, db=db, host=host, chunk_rows=rows_per_commit, **kw)
    monkeypatch.undo()
    return db, s, len(_receipts(db))


def test_a_rerun_after_a_crash_scores_each_customer_once(settings, host, tmp_path,
                                                         monkeypatch):
    path, frame = _base(tmp_path)
    db = Database(settings.database_url)
    s = settings.model_copy(update={"batch_commit_rows": 300})
    done = _crash_after(monkeypatch, commits=2)
    with pytest.raises(Crash):
        score_file(s, path, SCHEMA, db=db, host=host, chunk_rows=300)
    before = _receipts(db)
    assert len(before) == sum(done) > 0 and len(before) < len(frame)
    tasks_before = _open_tasks(db)
    monkeypatch.undo()

    report = score_file(s, path, SCHEMA, db=db, host=host, chunk_rows=250)  # other chunks
    receipts = _receipts(db)
    # exactly one receipt per customer of the file: the night's drift counts each once
    assert len(receipts) == len(frame) and set(receipts.values()) == {1}
    assert _drift_rows(db, settings) == [len(frame)]
    assert report.resumed and report.skipped_done > 0
    assert report.scored_before == len(before)
    assert report.scored == len(frame) - len(before)
    assert report.rows_read + report.skipped_done == len(frame)
    # no customer has two open tasks, and the tasks opened before the crash are kept
    tasks = _open_tasks(db)
    assert set(tasks.values()) == {1} and tasks_before.keys() <= tasks.keys()
    assert len(tasks) == report.open_tasks_after
    with db.session() as ses:
        run = ses.scalars(sa.select(BatchRun)).one()
        assert (run.status, run.attempts, run.rows_done, run.scored) == (
            "completed", 2, len(frame), len(frame))
        # every customer on the risk list points at their one receipt
        linked = ses.scalar(sa.select(sa.func.count()).select_from(Customer).join(
            Prediction, Prediction.id == Customer.latest_prediction_id))
        assert linked == len(frame)

    # a completed run, run again on purpose, is a new night: everyone is scored again
    again = score_file(settings, path, SCHEMA, db=db, host=host)
    assert not again.resumed and again.skipped_done == 0 and again.scored == len(frame)
    assert set(_receipts(db).values()) == {2}
    db.dispose()


def test_the_same_night_resumes_only_with_the_same_file_model_and_as_of(settings, host,
                                                                        tmp_path,
                                                                        monkeypatch):
    from datetime import UTC, datetime

    path, frame = _base(tmp_path, rows=600, fmt="parquet")
    night = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    db, s, committed = _crashed_run(settings, host, monkeypatch, path, 200, as_of=night)
    first = _receipts(db)
    assert 0 < len(first) == committed < len(frame)
    # another night (as_of) is another run: it scores everyone
    other = score_file(s, path, SCHEMA, db=db, host=host, as_of=datetime(2026, 3, 2, 2, 0,
                                                                        tzinfo=UTC))
    assert not other.resumed and other.scored == len(frame)
    # the same file copied elsewhere is the same file: the first night resumes
    copy = tmp_path / "copy" / path.name
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())
    resumed = score_file(s, copy, SCHEMA, db=db, host=host, as_of=night)
    assert resumed.resumed and resumed.scored == len(frame) - len(first)
    assert resumed.data_digest == other.data_digest
    with db.session() as ses:
        per_day = dict(ses.execute(
            sa.select(Prediction.created_at, sa.func.count()).group_by(Prediction.created_at)
        ).all())
    assert sum(per_day.values()) == 2 * len(frame)
    assert _drift_rows(db, settings) == [len(frame), len(frame)]
    db.dispose()


def test_restart_abandons_the_unfinished_run(settings, host, tmp_path, monkeypatch):
    path, frame = _base(tmp_path, rows=500)
    db, s, first = _crashed_run(settings, host, monkeypatch, path, 150)
    report = score_file(s, path, SCHEMA, db=db, host=host, resume=False)
    assert not report.resumed and report.scored == len(frame)
    assert sum(_receipts(db).values()) == first + len(frame)
    with db.session() as ses:
        assert sorted(ses.scalars(sa.select(BatchRun.status))) == ["abandoned", "completed"]
    db.dispose()


def test_a_second_run_of_the_same_file_takes_over_the_first(settings, host, tmp_path,
                                                           monkeypatch):
    """Two runs of the same file at once (the operator starts it again while the first
    still runs): the later one takes the run over from the committed rows; the earlier
    stops at its next commit, its uncommitted chunks rolled back. Each customer once."""
    path, frame = _base(tmp_path, rows=900)
    db = Database(settings.database_url)
    s = settings.model_copy(update={"batch_commit_rows": 200})
    commit = batch.ChunkWriter.commit
    second = []

    def interleaved(self):
        commit(self)
        if not second and self.report.scored:
            monkeypatch.setattr(batch.ChunkWriter, "commit", commit)
            second.append(score_file(s, path, SCHEMA, db=db, host=host, chunk_rows=200))
            monkeypatch.setattr(batch.ChunkWriter, "commit", interleaved)

    monkeypatch.setattr(batch.ChunkWriter, "commit", interleaved)
    with pytest.raises(BatchError, match="another run of the same file"):
        score_file(s, path, SCHEMA, db=db, host=host, chunk_rows=200)
    monkeypatch.undo()
    assert second[0].resumed
    receipts = _receipts(db)
    assert len(receipts) == len(frame) and set(receipts.values()) == {1}
    db.dispose()


def test_dask_resumes_the_run_the_threads_began(settings, host, tmp_path, monkeypatch):
    from serving.distributed import score_file_dask

    path, frame = _base(tmp_path, rows=800, fmt="parquet")
    db, s, first = _crashed_run(settings, host, monkeypatch, path, 200)
    report = score_file_dask(s, path, SCHEMA, workers=1, chunk_rows=200)
    assert report.resumed and report.scored_before == first
    assert report.scored == len(frame) - first
    receipts = _receipts(db)
    assert len(receipts) == len(frame) and set(receipts.values()) == {1}
    db.dispose()


_KILLED_RUN = textwrap.dedent("""
    import os, signal, sys
    from serving import batch, cli

    commit = batch.ChunkWriter.commit
    commits = []

    def dying(self):
        # killed with a transaction open (chunks stored, not committed) after two commits
        if self._session is not None and len(commits) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        had = self._session is not None
        commit(self)
        if had:
            commits.append(1)

    batch.ChunkWriter.commit = dying
    sys.exit(cli.main(sys.argv[1:]))
""")


def test_a_killed_process_is_resumed_by_the_same_command(settings, trained, tmp_path,
                                                         monkeypatch, capsys):
    """The batch process is killed (SIGKILL, a transaction open); the same command run
    again scores only what the dead one had not committed, and says so."""
    path, frame = _base(tmp_path, rows=1500)
    env = {**os.environ, "CHURN_DATABASE_URL": settings.database_url,
           "CHURN_TRACKING_URI": trained.tracking_uri, "CHURN_MODEL_URI": trained.model_uri,
           "CHURN_BATCH_COMMIT_ROWS": "300", "CHURN_PURGE_AFTER_BATCH": "false",
           "PYTHONPATH": str(REPO)}
    command = ["score", "--data", str(path), "--schema", SCHEMA, "--single-process",
               "--chunk-rows", "300"]
    dead = subprocess.run([sys.executable, "-c", _KILLED_RUN, *command], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert dead.returncode == -signal.SIGKILL, dead.stderr
    db = Database(settings.database_url)
    first = _receipts(db)
    assert 0 < len(first) < len(frame)
    for name in ("CHURN_DATABASE_URL", "CHURN_TRACKING_URI", "CHURN_MODEL_URI",
                 "CHURN_BATCH_COMMIT_ROWS", "CHURN_PURGE_AFTER_BATCH"):
        monkeypatch.setenv(name, env[name])
    assert cli.main(command) == 0
    out = capsys.readouterr().out
    assert '"resumed": true' in out and f'"scored_before": {len(first)}' in out
    assert f'"scored": {len(frame) - len(first)}' in out
    receipts = _receipts(db)
    assert len(receipts) == len(frame) and set(receipts.values()) == {1}
    assert set(_open_tasks(db).values()) <= {1}
    db.dispose()


def test_the_cli_help_says_a_rerun_resumes(capsys):
    with pytest.raises(SystemExit):
        cli.main(["score", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "resumes" in text and "--restart" in text
