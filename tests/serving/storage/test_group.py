"""Group commit on SQLite and PostgreSQL: concurrent jobs share transactions, every
acknowledged job is stored exactly once, and a failing job never fails the others."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from serving.storage import Database
from serving.storage.group import GroupCommit
from serving.storage.tables import Customer


class Refused(Exception):
    pass


def make_store(groups: list[list[str]], delay: float = 0.0):
    """A store that adds one customer per job; 'refuse-*' jobs are refused (nothing
    written), 'crash-*' jobs make the whole transaction fail."""

    def store(session, jobs):
        groups.append(list(jobs))
        if delay:
            time.sleep(delay)  # a slow disk: the next callers queue meanwhile
        outcomes = []
        for job in jobs:
            if job.startswith("refuse"):
                outcomes.append(Refused(job))
                continue
            if job.startswith("crash"):
                raise RuntimeError(f"{job} broke the transaction")
            session.add(Customer(customer_ref=job, created_at=datetime.now(UTC)))
            session.flush()
            outcomes.append(f"stored {job}")
        return outcomes

    return store


def stored_refs(db: Database) -> list[str]:
    with db.session() as s:
        return sorted(s.scalars(sa.select(Customer.customer_ref)))


def run_concurrently(writer: GroupCommit, jobs: list[str]) -> dict[str, object]:
    results: dict[str, object] = {}
    start = threading.Barrier(len(jobs))

    def call(job: str) -> None:
        start.wait()
        try:
            results[job] = writer.submit(job)
        except Exception as exc:  # noqa: BLE001 - the test inspects what each caller got
            results[job] = exc

    threads = [threading.Thread(target=call, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_concurrent_jobs_share_transactions_and_each_gets_its_own_outcome(db):
    groups: list[list[str]] = []
    writer = GroupCommit(db, make_store(groups, delay=0.05))
    jobs = [f"cu_{i:02d}" for i in range(12)] + ["refuse-1", "refuse-2"]
    results = run_concurrently(writer, jobs)

    for job in jobs:
        if job.startswith("refuse"):
            assert isinstance(results[job], Refused)
        else:
            assert results[job] == f"stored {job}"
    assert stored_refs(db) == sorted(j for j in jobs if j.startswith("cu_"))
    # while the first group held the disk, the other callers queued and went together
    assert writer.groups < len(jobs)
    assert max(len(g) for g in groups) > 1
    assert writer.jobs == len(jobs)
    assert sorted(j for g in groups for j in g) == sorted(jobs)  # each job stored once


def test_a_job_that_breaks_the_transaction_fails_alone(db):
    groups: list[list[str]] = []
    writer = GroupCommit(db, make_store(groups, delay=0.05))
    jobs = [f"cu_{i:02d}" for i in range(8)] + ["crash-1"]
    results = run_concurrently(writer, jobs)

    assert isinstance(results["crash-1"], RuntimeError)
    for job in jobs[:-1]:
        assert results[job] == f"stored {job}"
    assert stored_refs(db) == sorted(jobs[:-1])


def test_the_row_budget_bounds_a_group(db):
    groups: list[list[str]] = []
    writer = GroupCommit(db, make_store(groups, delay=0.02), max_rows=3)
    jobs = [f"cu_{i:02d}" for i in range(10)]
    run_concurrently(writer, jobs)
    assert stored_refs(db) == jobs
    assert all(len(g) <= 3 for g in groups)


def test_one_job_bigger_than_the_budget_still_goes_through(db):
    groups: list[list[str]] = []
    writer = GroupCommit(db, make_store(groups), max_rows=2)
    assert writer.submit("cu_big", rows=500) == "stored cu_big"
    assert stored_refs(db) == ["cu_big"]


def test_a_store_that_loses_track_of_its_jobs_is_refused(db):
    writer = GroupCommit(db, lambda session, jobs: [])
    with pytest.raises(RuntimeError, match="0 outcomes for 1 jobs"):
        writer.submit("cu_1")
    assert stored_refs(db) == []


def test_max_rows_must_be_positive(db):
    with pytest.raises(ValueError, match="at least 1"):
        GroupCommit(db, make_store([]), max_rows=0)


def test_the_event_loop_awaits_its_jobs_stored_by_one_writer_thread(db):
    """`submit_async`: jobs awaited together are stored by the writer thread in shared
    transactions, each caller gets its own outcome (a refused job raises, a breaking one
    fails alone), and `close` stops the thread."""
    import asyncio

    groups: list[list[str]] = []
    writer = GroupCommit(db, make_store(groups, delay=0.02), wait=0.01)

    async def together(jobs: list[str]) -> dict[str, object]:
        out = await asyncio.gather(*(writer.submit_async(j) for j in jobs),
                                   return_exceptions=True)
        return dict(zip(jobs, out, strict=True))

    first = [f"cu_{i:02d}" for i in range(10)] + ["refuse-1"]
    results = asyncio.run(together(first))
    assert isinstance(results["refuse-1"], Refused)
    assert writer.groups < len(first) / 2  # shared transactions, not one per job
    second = ["cu_20", "crash-1", "cu_21"]
    results |= asyncio.run(together(second))
    assert isinstance(results["crash-1"], RuntimeError)
    kept = [j for j in first + second if j.startswith("cu_")]
    assert all(results[j] == f"stored {j}" for j in kept)
    assert stored_refs(db) == sorted(kept)
    thread = writer._thread
    assert thread is not None and thread.is_alive()
    writer.close()
    assert not thread.is_alive()
    with pytest.raises(RuntimeError, match="closed"):
        asyncio.run(writer.submit_async("cu_late"))


def test_a_lone_job_never_waits_for_a_group_to_fill(db):
    """The writer waits for a group only as large as the recent ones: the first job of a
    quiet writer goes at once, however long the wait allowed."""
    import asyncio

    writer = GroupCommit(db, make_store([]), wait=1.0)
    started = time.perf_counter()
    assert asyncio.run(writer.submit_async("cu_alone")) == "stored cu_alone"
    assert time.perf_counter() - started < 0.5
    writer.close()
    with pytest.raises(ValueError, match="seconds"):
        GroupCommit(db, make_store([]), wait=5)
