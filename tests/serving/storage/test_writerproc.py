"""The online write in a writer process of its own (CHURN_WRITER=process): each group is
committed there before anyone is answered; a process that dies takes nothing
acknowledged with it and is replaced; the API answers 503 for a write it could not
confirm; an in-memory SQLite database keeps the thread."""

from __future__ import annotations

import importlib
import os
import signal
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from serving.main import create_app
from serving.storage import Database, writerproc
from serving.storage.group import GroupCommit
from serving.storage.writerproc import WriterLost, WriterProcess, shareable
from tests.serving.conftest import ADMIN_TOKEN, bearer
from tests.serving.storage.test_group import run_concurrently, stored_refs
from tests.serving.storage.writer_store import Refused

STORE = "tests.serving.storage.writer_store:store"


def _identity(x):  # noqa: ANN001, ANN202
    return x


def _written(outcome: object) -> tuple[str, int]:
    """The job a stored outcome names and the process that wrote it."""
    assert isinstance(outcome, str) and outcome.startswith("stored "), outcome
    job, _, rest = outcome.removeprefix("stored ").partition(" in ")
    return job, int(rest.split(" on ")[0])


def _connection(outcome: object) -> int:
    """The connection (pool checkout) a stored outcome was written on."""
    assert isinstance(outcome, str)
    return int(outcome.rsplit(" on ", 1)[1])


@pytest.fixture
def process(db: Database):  # noqa: ANN201
    p = WriterProcess(db.url, STORE, _identity, _identity)
    p.start()
    yield p
    p.close()


def test_groups_are_committed_by_the_process_and_each_job_gets_its_outcome(db, process):
    writer = GroupCommit(db, None, process=process)  # type: ignore[arg-type]
    jobs = [f"cu_{i:02d}" for i in range(10)] + ["refuse-1"]
    results = run_concurrently(writer, jobs)
    assert isinstance(results["refuse-1"], Refused)  # its exception, across the pipe
    for job in jobs[:-1]:
        assert _written(results[job]) == (job, process._proc.pid)
    assert process._proc.pid != os.getpid()
    assert stored_refs(db) == sorted(jobs[:-1])  # committed: the server's session reads it
    assert writer.jobs == len(jobs) and writer.groups <= len(jobs)


def test_a_process_that_dies_acknowledges_nothing_and_is_replaced(db, process):
    first = process._proc.pid
    with pytest.raises(WriterLost, match="nothing of these requests was acknowledged"):
        process.run(["cu_a", "die"])
    assert stored_refs(db) == []  # the group died before its commit
    outcomes, groups, jobs = process.run(["cu_b"])  # a new process takes the next group
    assert [_written(o) for o in outcomes] == [("cu_b", process._proc.pid)]
    assert (groups, jobs) == (1, 1)
    assert process._proc.pid != first and process.starts == 2
    assert stored_refs(db) == ["cu_b"]


def test_close_stops_the_process(db):
    p = WriterProcess(db.url, STORE, _identity, _identity)
    p.start()
    proc = p._proc
    p.close()
    assert not proc.is_alive() and not p.alive


def test_an_in_memory_database_keeps_the_thread():
    assert not shareable("sqlite://") and not shareable("sqlite:///:memory:")
    assert shareable("sqlite:///var/churn.db")
    assert shareable("postgresql+psycopg://postgres@127.0.0.1/churn")


def test_the_api_stores_through_the_process_and_answers_503_when_it_dies(
        settings, host, customers, monkeypatch):  # noqa: ANN001
    app = create_app(settings.model_copy(update={"writer": "process"}), host=host)
    admin = bearer(ADMIN_TOKEN)
    with TestClient(app, raise_server_exceptions=False) as c:
        process = app.state.score_writer.process
        assert process is not None and process.alive
        r = c.post("/v1/predictions", headers=admin, json=customers[0])
        assert r.status_code == 201, r.text
        pid = process._proc.pid
        # the process dies while the server still takes it for alive: the group is lost
        os.kill(pid, signal.SIGKILL)
        process._proc.join()
        monkeypatch.setattr(WriterProcess, "alive", property(lambda self: True))
        r = c.post("/v1/predictions", headers=admin, json=customers[1])
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "write_unconfirmed" and r.headers["Retry-After"] == "1"
        assert "may or may not have been stored" in r.json()["detail"]
        assert "same Idempotency-Key" in r.json()["detail"]
        assert "Without a key a repeat is still safe" in r.json()["detail"]
        monkeypatch.undo()
        r = c.post("/v1/predictions", headers=admin, json=customers[2])
        assert r.status_code == 201, r.text  # a new process
        assert process._proc.pid != pid
        ids = [c.get(f"/v1/predictions/{p}", headers=admin).status_code
               for p in (r.json()["prediction_id"],)]
        assert ids == [200]
    assert not process.alive  # stopped with the app


def test_the_process_is_the_default_writer_and_does_not_wait_for_groups(settings, host):
    """By default the server's groups are committed by a writer process, which hands a
    group over at once; the thread (an in-memory database, or CHURN_WRITER=thread) waits up
    to 2 ms for a group as large as the recent ones; CHURN_GROUP_COMMIT_WAIT_MS decides
    for either when set."""
    from serving.config import Settings
    from serving.scoring.service import group_wait_ms

    assert Settings.model_fields["writer"].default == "process"
    assert Settings.model_fields["group_commit_wait_ms"].default is None
    assert (group_wait_ms(None, True), group_wait_ms(None, False)) == (0.0, 2.0)
    assert (group_wait_ms(5.0, True), group_wait_ms(0.0, False)) == (5.0, 0.0)
    defaults = settings.model_copy(update={"writer": Settings.model_fields["writer"].default,
                                           "group_commit_wait_ms": None})
    app = create_app(defaults, host=host)
    with TestClient(app):
        writer = app.state.score_writer
        file_backed = shareable(defaults.database_url)
        assert (writer.process is not None) == file_backed
        assert writer.wait == (0.0 if file_backed else 0.002)


# -- the event loop leads on the pipe itself (no writer thread) ---------------------------


async def _together(writer: GroupCommit, jobs: list[str]) -> dict[str, object]:
    import asyncio

    out = await asyncio.gather(*(writer.submit_async(j) for j in jobs), return_exceptions=True)
    return dict(zip(jobs, out, strict=True))


def test_the_event_loop_hands_groups_to_the_process_without_a_thread(db, process):
    """Jobs awaited together: the loop sends them down the pipe in shared groups (those
    queued while one commits go next, together), each caller gets its own outcome, and no
    writer thread is started."""
    import asyncio

    writer = GroupCommit(db, None, process=process)  # type: ignore[arg-type]
    jobs = ["slow-0"] + [f"cu_{i:02d}" for i in range(12)] + ["refuse-1"]
    results = asyncio.run(_together(writer, jobs))
    assert isinstance(results["refuse-1"], Refused)
    pid = process._proc.pid
    assert all(_written(results[j]) == (j, pid) for j in jobs[:-1])
    assert stored_refs(db) == sorted(jobs[:-1])
    assert writer.jobs == len(jobs) and writer.groups == 2  # the slow one, then the rest
    assert writer._thread is None and not writer._leader.locked()


def test_a_thread_and_the_loop_share_the_pipe(db, process):
    """A long list scored in the thread pool (`submit`) and the loop's requests use the
    one pipe in turn: every job stored once, every caller answered, nobody left queued."""
    import asyncio
    import threading

    writer = GroupCommit(db, None, process=process)  # type: ignore[arg-type]
    threaded: dict[str, object] = {}

    def in_thread(job: str) -> None:
        threaded[job] = writer.submit(job)

    async def both() -> dict[str, object]:
        threads = [threading.Thread(target=in_thread, args=(f"th_{i}",)) for i in range(4)]
        waiting = asyncio.ensure_future(_together(writer, ["slow-1"] + [f"lo_{i}"
                                                                           for i in range(8)]))
        await asyncio.sleep(0.02)  # the slow group is on the pipe: the threads queue
        for t in threads:
            t.start()
        out = await asyncio.wait_for(waiting, 30)
        out |= await asyncio.wait_for(_together(writer, ["lo_last"]), 30)
        for t in threads:
            await asyncio.to_thread(t.join, 30)
        return out

    looped = asyncio.run(both())
    pid = process._proc.pid
    everything = {**looped, **threaded}
    assert len(everything) == 14
    assert all(_written(v) == (k, pid) for k, v in everything.items())
    assert stored_refs(db) == sorted(everything)
    assert not writer._pending and not writer._leader.locked()


async def _behind_a_slow_group(writer: GroupCommit, first: str, then: list[str]
                               ) -> tuple[dict[str, object], int]:
    """Groups of two first (so that two queued jobs make a group), then `first` on the
    pipe alone and `then` queued while it commits; returns every outcome and how many
    jobs were sent behind it before its reply came."""
    import asyncio

    await _together(writer, ["slow-w", "cu_warm1", "cu_warm2"])  # [slow-w], then two
    head = asyncio.ensure_future(writer.submit_async(first))
    await asyncio.sleep(0)  # `first` is on the pipe
    rest = asyncio.ensure_future(_together(writer, then))
    await asyncio.sleep(0.05)  # the process is still on `first`
    behind = len(writer._behind or [])
    out = await rest
    (out[first],) = await asyncio.gather(head, return_exceptions=True)
    return out, behind


def test_the_next_group_waits_on_the_pipe_behind_the_one_committing(db, process):
    """Once as many jobs queued as the recent groups held, they go down the pipe behind
    the group being committed (the process starts on them as soon as it replied): every
    job still stored once, each caller answered in turn, the pipe let go at the end."""
    import asyncio

    writer = GroupCommit(db, None, process=process)  # type: ignore[arg-type]
    then = [f"cu_{i}" for i in range(5)]
    out, behind = asyncio.run(_behind_a_slow_group(writer, "slow-0", then))
    assert behind == 2  # groups of two: the first two queued, sent behind the slow one
    pid = process._proc.pid
    assert all(_written(out[j]) == (j, pid) for j in ["slow-0", *then])
    assert stored_refs(db) == sorted(["cu_warm1", "cu_warm2", "slow-w", "slow-0", *then])
    assert writer.jobs == 3 + 1 + len(then)
    assert writer._sent is None and writer._behind is None and not writer._leader.locked()


def test_a_process_that_dies_with_a_group_behind_acknowledges_neither(db, process):
    """The process dies while committing a group with another waiting behind it on the
    pipe: both fail (nothing of either acknowledged, nothing stored), and the next
    request is stored by a new process."""
    import asyncio

    writer = GroupCommit(db, None, process=process)  # type: ignore[arg-type]
    then = ["cu_lost0", "cu_lost1"]
    out, behind = asyncio.run(_behind_a_slow_group(writer, "slow-die", then))
    assert behind == 2
    assert all(isinstance(out[j], WriterLost) for j in ["slow-die", *then]), out
    after = asyncio.run(writer.submit_async("cu_after"))
    assert _written(after) == ("cu_after", process._proc.pid) and process.starts == 2
    assert stored_refs(db) == ["cu_after", "cu_warm1", "cu_warm2", "slow-w"]
    assert writer._behind is None and not writer._leader.locked()


def test_a_process_that_dies_under_the_loop_is_replaced_without_stopping_it(db, process):
    """The group on the pipe when the process dies fails (nothing acknowledged); the next
    group starts a new process off the loop, which keeps running meanwhile."""
    import asyncio

    writer = GroupCommit(db, None, process=process)  # type: ignore[arg-type]
    first = process._proc.pid

    async def run() -> tuple[dict[str, object], str, int, float]:
        lost = await _together(writer, ["die"])
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        beat = asyncio.ensure_future(ticker())
        await asyncio.sleep(0)
        started = time.perf_counter()
        stored = await writer.submit_async("cu_after")  # waits for the new process
        took = time.perf_counter() - started
        beat.cancel()
        return lost, stored, ticks, took

    lost, stored, ticks, took = asyncio.run(run())
    assert isinstance(lost["die"], WriterLost)
    assert process.starts == 2 and process._proc.pid != first
    assert _written(stored) == ("cu_after", process._proc.pid)
    # the loop ran on while the new process started (a loop blocked meanwhile ticks once)
    assert ticks >= 3 and ticks >= took / 0.01 / 3
    assert stored_refs(db) == ["cu_after"] and not writer._leader.locked()


def test_close_in_the_loop_stores_the_group_on_the_pipe_and_what_is_queued(db, process):
    """The app's shutdown closes the writer from its loop: the group on the pipe and the
    jobs queued behind it are stored before the process stops."""
    import asyncio

    writer = GroupCommit(db, None, process=process)  # type: ignore[arg-type]

    async def shut() -> list[asyncio.Future]:
        futures = [asyncio.ensure_future(writer.submit_async(j))
                   for j in ("slow-2", "cu_q1", "cu_q2")]
        await asyncio.sleep(0.03)  # slow-2 on the pipe, the other two queued
        assert writer._sent is not None and len(writer._pending) == 2
        writer.close()
        await asyncio.sleep(0)
        return futures

    futures = asyncio.run(shut())
    assert [f.result().split(" in ")[0] for f in futures] == [
        "stored slow-2", "stored cu_q1", "stored cu_q2"]
    assert stored_refs(db) == ["cu_q1", "cu_q2", "slow-2"] and not process.alive


def test_the_loop_waits_for_a_group_to_fill_when_asked(db, process):
    """CHURN_GROUP_COMMIT_WAIT_MS with the process: once groups of four have gone, jobs
    trickling in wait for as many (no longer) and go together; a lone job then waits the
    whole wait, then goes alone."""
    import asyncio

    writer = GroupCommit(db, None, wait=0.5, process=process)  # type: ignore[arg-type]

    async def run() -> tuple[float, float]:
        await _together(writer, [f"cu_a{i}" for i in range(5)])  # the first alone, then 4
        assert writer.groups == 2
        started = time.perf_counter()
        trickle = []
        for i in range(4):
            trickle.append(asyncio.ensure_future(writer.submit_async(f"cu_b{i}")))
            await asyncio.sleep(0.02)
        await asyncio.gather(*trickle)
        together = time.perf_counter() - started
        started = time.perf_counter()
        await writer.submit_async("cu_c")
        return together, time.perf_counter() - started

    together, alone = asyncio.run(run())
    assert writer.groups == 4  # the trickle as one group, then the lone job
    assert together < 0.4 and 0.45 < alone < 2.0
    assert len(stored_refs(db)) == 10


def test_the_process_keeps_one_connection_and_drops_it_after_a_failed_group(db, process):
    """On an SQLite file the writer process writes every group on one connection, kept
    (no pool checkout per group); a group that fails is rolled back and its connection
    given back, and the next starts on a new checkout. PostgreSQL takes a pooled
    connection per group."""
    first = process.run(["cu_k1"])[0][0]
    second = process.run(["cu_k2"])[0][0]
    outcomes, groups, jobs = process.run(["cu_k3", "crash-1"])  # fails whole: each alone
    assert isinstance(outcomes[1], RuntimeError) and (groups, jobs) == (1, 1)
    after = process.run(["cu_k4"])[0][0]
    assert stored_refs(db) == ["cu_k1", "cu_k2", "cu_k3", "cu_k4"]
    checkouts = [_connection(o) for o in (first, second, outcomes[0], after)]
    if db.dialect == "sqlite":
        # kept while groups commit; after each failure (the group, then the breaking
        # job alone, retried after cu_k3) the next group is on a new checkout
        assert checkouts[0] == checkouts[1] < checkouts[2] < checkouts[3]
    else:
        assert checkouts == sorted(set(checkouts))  # one per group


def test_a_loop_that_ends_with_a_group_on_the_pipe_does_not_hold_it(db, process):
    """A script's `asyncio.run` that ends while its request's group is on the pipe (the
    caller gave up waiting) leaves the group to be committed; the next loop takes over
    the pipe, reads that reply, and its own job is stored. Closing does the same."""
    import asyncio

    writer = GroupCommit(db, None, process=process)  # type: ignore[arg-type]

    async def give_up(job: str) -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(writer.submit_async(job), 0.02)

    asyncio.run(give_up("slow-gone-1"))
    assert writer._sent is not None  # its loop is closed, the group still on the pipe
    stored = asyncio.run(asyncio.wait_for(writer.submit_async("cu_next"), 30))
    assert _written(stored) == ("cu_next", process._proc.pid)
    assert stored_refs(db) == ["cu_next", "slow-gone-1"] and writer.groups == 2
    asyncio.run(give_up("slow-gone-2"))
    writer.close()
    assert stored_refs(db) == ["cu_next", "slow-gone-1", "slow-gone-2"]
    assert not writer._leader.locked()


def test_serve_warms_the_writer_fork_server_up_only_for_a_writer_process(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`serve` starts the fork server before its own imports (`writerproc.warm_up`), with
    the modules the writer process will be forked with; the thread writer, or a database
    no second process can open, starts nothing."""
    import multiprocessing.forkserver

    from serving.scoring import WRITER_STORE, service

    module, name = WRITER_STORE.split(":")
    assert getattr(importlib.import_module(module), name) is service.store_wire
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(writerproc, "forkserver", lambda *preload: calls.append(preload))
    monkeypatch.setattr(multiprocessing.forkserver, "ensure_running",
                        lambda: calls.append(("running",)))
    writerproc.warm_up("thread", f"sqlite:///{tmp_path}/a.db", WRITER_STORE)
    writerproc.warm_up("process", "sqlite:///:memory:", WRITER_STORE)
    assert calls == []
    writerproc.warm_up("process", f"sqlite:///{tmp_path}/a.db", WRITER_STORE)
    assert calls == [("serving.storage.writerproc", "serving.scoring.service"), ("running",)]
