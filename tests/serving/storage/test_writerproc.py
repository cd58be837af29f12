"""The online write in a writer process of its own (CHURN_WRITER=process): each group is
committed there before anyone is answered; a process that dies takes nothing
acknowledged with it and is replaced; the API answers 503 for a write it could not
confirm; an in-memory SQLite database keeps the thread."""

from __future__ import annotations

import os
import signal

import pytest
from fastapi.testclient import TestClient

from serving.main import create_app
from serving.storage import Database
from serving.storage.group import GroupCommit
from serving.storage.writerproc import WriterLost, WriterProcess, shareable
from tests.serving.conftest import ADMIN_TOKEN, bearer
from tests.serving.storage.test_group import run_concurrently, stored_refs
from tests.serving.storage.writer_store import Refused

STORE = "tests.serving.storage.writer_store:store"


def _identity(x):  # noqa: ANN001, ANN202
    return x


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
        assert results[job] == f"stored {job} in {process._proc.pid}"
    assert process._proc.pid != os.getpid()
    assert stored_refs(db) == sorted(jobs[:-1])  # committed: the server's session reads it
    assert writer.jobs == len(jobs) and writer.groups <= len(jobs)


def test_a_process_that_dies_acknowledges_nothing_and_is_replaced(db, process):
    first = process._proc.pid
    with pytest.raises(WriterLost, match="nothing of these requests was acknowledged"):
        process.run(["cu_a", "die"])
    assert stored_refs(db) == []  # the group died before its commit
    outcomes, groups, jobs = process.run(["cu_b"])  # a new process takes the next group
    assert outcomes == [f"stored cu_b in {process._proc.pid}"] and (groups, jobs) == (1, 1)
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
