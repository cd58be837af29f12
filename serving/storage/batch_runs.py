"""The batch runs' records (`batch_runs`, migration 0015): which run a batch process
writes, how far its committed transactions got, and whether it completed.

Statements only, in the caller's transaction: `serving.batch` decides when a run resumes,
starts afresh or is taken over, and commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from serving.storage.tables import BatchRun, new_id


class RunClaim(NamedTuple):
    """The run a batch process writes now (`claim`)."""

    run_id: str
    attempt: str  # this process's token: its commits are refused once another holds it
    resumed: bool  # an unfinished run of the same key is resumed
    rows_done: int  # rows of the file already committed (0 for a new run)
    scored: int  # receipts already committed
    started_at: datetime  # when the run (its first attempt) started


def unfinished(session: Session, run_key: str, lock: bool = False) -> BatchRun | None:
    """The run of `run_key` still `running` (the partial unique index finds it). With
    `lock` on PostgreSQL its row is locked until the transaction ends."""
    query = select(BatchRun).where(BatchRun.run_key == run_key, BatchRun.status == "running")
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def claim(session: Session, run_key: str, *, data: str, data_digest: str, model_name: str,
          model_version: str, as_of: datetime | None, at: datetime,
          resume: bool = True) -> RunClaim:
    """Take the unfinished run of `run_key` over with a new attempt token (`resume`), or
    record a new run; with `resume` False an unfinished one is marked `abandoned` first.
    A concurrent claim of the same key waits for this transaction (PostgreSQL: the row
    lock, or the unique index; SQLite: its single writer)."""
    attempt = new_id()
    found = unfinished(session, run_key, lock=True)
    if found is not None and resume:
        found.attempt, found.attempts = attempt, found.attempts + 1
        found.data, found.updated_at = data, at
        session.flush()
        return RunClaim(found.id, attempt, True, found.rows_done, found.scored,
                        found.started_at)
    if found is not None:
        found.status, found.updated_at = "abandoned", at
        session.flush()  # before the new row: the unique index holds one running run
    run = BatchRun(id=new_id(), run_key=run_key, data=data, data_digest=data_digest,
                   model_name=model_name, model_version=model_version, as_of=as_of,
                   status="running", attempt=attempt, attempts=1, rows_done=0, scored=0,
                   started_at=at, updated_at=at)
    session.add(run)
    session.flush()
    return RunClaim(run.id, attempt, False, 0, 0, at)


def advance(session: Session, run_id: str, attempt: str, rows: int, scored: int,
            at: datetime) -> bool:
    """Add a commit's rows and receipts to the run, in the commit's transaction. False
    when `attempt` no longer holds the run (another process took it over, or it was
    restarted): the caller must not commit."""
    result = session.execute(
        update(BatchRun)
        .where(BatchRun.id == run_id, BatchRun.attempt == attempt,
               BatchRun.status == "running")
        .values(rows_done=BatchRun.rows_done + rows, scored=BatchRun.scored + scored,
                updated_at=at)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def complete(session: Session, run_id: str, attempt: str, at: datetime) -> bool:
    """Mark the run completed (a rerun is then a new run); False when `attempt` no longer
    holds it."""
    result = session.execute(
        update(BatchRun)
        .where(BatchRun.id == run_id, BatchRun.attempt == attempt,
               BatchRun.status == "running")
        .values(status="completed", completed_at=at, updated_at=at)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1
