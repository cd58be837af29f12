"""A database that cannot be used: 503 JSON with Retry-After, never a plain-text 500;
`/readyz` not ready while it lasts; service again once it is fixed.

The SQLite file lives on a small tmpfs of its own (mounting one needs root; without root
the full-disk case is skipped). Read-only while running: SQLite in query_only mode, a
PostgreSQL database whose sessions are read-only; a read-only file at start-up is a
read-only mount. "Unreachable"
is a second app pointed at a closed PostgreSQL port (the shared server is never stopped).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import event

from serving.main import create_app
from serving.storage import Database, upgrade
from serving.storage.health import probe_url
from serving.system.preflight import StartupError, check_database
from tests.e2e.conftest import free_port
from tests.serving.conftest import ADMIN_TOKEN, REPO, bearer

ADMIN = bearer(ADMIN_TOKEN)
ROOT = os.geteuid() == 0


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs (root), else a plain directory."""
    where = tmp_path / "disk"
    where.mkdir()
    if not ROOT:
        yield where
        return
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(where: Path) -> Path:
    """Take every free byte of the filesystem at `where`; returns the filler file."""
    filler = where / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for size in (1 << 16, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def _database_unavailable(r, reason: str) -> None:  # noqa: ANN001
    assert r.status_code == 503, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["error"] == "database_unavailable" and body["reason"] == reason, body
    assert int(r.headers["Retry-After"]) >= 1
    assert "Traceback" not in r.text and "INSERT" not in r.text


def _ready(c: TestClient) -> tuple[int, dict]:
    r = c.get("/readyz")
    return r.status_code, r.json()


@pytest.fixture
def on_disk(disk: Path, base_settings, host) -> Iterator[tuple[TestClient, Path]]:  # noqa: ANN001
    settings = base_settings.model_copy(update={"database_url": f"sqlite:///{disk}/churn.db"})
    with TestClient(create_app(settings, host=host), raise_server_exceptions=False) as c:
        yield c, disk


@pytest.mark.skipif(not ROOT, reason="a tmpfs of its own needs root (mount)")
def test_disk_full_is_503_and_not_ready_until_space_returns(on_disk, customers):
    c, disk = on_disk
    assert c.post("/v1/predictions", headers=ADMIN, json=customers[0]).status_code == 201
    assert _ready(c)[0] == 200
    filler = _fill(disk)
    status, ready = _ready(c)
    assert status == 503 and ready["database"] is False and ready["detail"] == "database full"
    answers = [c.post("/v1/predictions", headers=ADMIN, json=customers[i])
               for i in range(1, 6)]
    for r in answers:
        _database_unavailable(r, "full")
    batch = c.post("/v1/predictions", headers=ADMIN, json=customers[10:60])
    _database_unavailable(batch, "full")
    assert c.get("/healthz").status_code == 200  # the process itself is fine

    filler.unlink()  # space returns
    assert _ready(c) == (200, _ready(c)[1]) and _ready(c)[1]["ready"] is True
    for i in range(1, 6):
        assert c.post("/v1/predictions", headers=ADMIN, json=customers[i]).status_code == 201
    r = c.post("/v1/predictions", headers=ADMIN, json=customers[10:60])
    assert r.status_code == 201, r.text


@contextmanager
def read_only(app) -> Iterator[None]:  # noqa: ANN001
    """The app's database turned read-only while it runs: SQLite connections in
    query_only mode, a PostgreSQL database whose sessions are read-only (as a standby's).
    The writer process is restarted on entry and exit, so that its sessions are new too
    (query_only is a connection's own: on SQLite the app writes through its thread)."""
    db = app.state.db
    writer = app.state.score_writer.process
    engine = db.engine
    if db.dialect == "sqlite":
        def query_only(dbapi_connection, _record) -> None:  # noqa: ANN001
            dbapi_connection.execute("PRAGMA query_only = ON")
        event.listen(engine, "connect", query_only)
    else:
        name = engine.url.database
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET default_transaction_read_only'
                                 " = on")
    engine.dispose()  # new connections, read-only
    if writer is not None:
        writer.close()  # the next group starts a process with new sessions
    try:
        yield
    finally:
        if writer is not None:
            writer.close()
        if db.dialect == "sqlite":
            event.remove(engine, "connect", query_only)
        else:
            admin = sa.create_engine(engine.url)
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("SET default_transaction_read_only = off")
                conn.exec_driver_sql(f'ALTER DATABASE "{name}" RESET '
                                     "default_transaction_read_only")
            admin.dispose()
        engine.dispose()


@pytest.fixture
def ro_app(settings, host):  # noqa: ANN001, ANN201
    """The app, writing through its thread on SQLite (see `read_only`)."""
    sqlite = settings.database_url.startswith("sqlite")
    return create_app(settings.model_copy(update={"writer": "thread" if sqlite else "process"}),
                      host=host)


def test_read_only_database_is_503_and_not_ready(ro_app, customers):  # noqa: ANN001
    app = ro_app
    with TestClient(app) as client:
        _read_only_answers(app, client, customers)


def _read_only_answers(app, client: TestClient, customers) -> None:  # noqa: ANN001
    assert client.post("/v1/predictions", headers=ADMIN, json=customers[0]).status_code == 201
    with read_only(app):
        status, ready = _ready(client)
        assert status == 503 and ready["database"] is False, ready
        assert ready["detail"] == "database read-only"
        for i in range(1, 4):
            _database_unavailable(
                client.post("/v1/predictions", headers=ADMIN, json=customers[i]),
                "read-only")
        _database_unavailable(
            client.post("/v1/predictions", headers=ADMIN, json=customers[10:30]), "read-only")
        # what needs no write still works; an audited read cannot be audited: 503
        assert client.get("/v1/model", headers=ADMIN).status_code == 200
        _database_unavailable(client.get("/v1/risk-list", headers=ADMIN), "read-only")
    assert _ready(client)[0] == 200
    assert client.post("/v1/predictions", headers=ADMIN, json=customers[1]).status_code == 201


def test_unreachable_database_is_503_and_not_ready(base_settings, host, customers):
    """An app whose PostgreSQL is at a closed port (started without migrating, as a
    replica whose database went away after start would be)."""
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/churn"
    settings = base_settings.model_copy(update={"database_url": url,
                                                "migrate_on_start": False})
    app = create_app(settings, host=host)
    app.router.lifespan_context = _no_startup_writes(app, settings, host)
    with TestClient(app, raise_server_exceptions=False) as c:
        status, ready = _ready(c)
        assert status == 503 and ready == ready | {"ready": False, "database": False,
                                                   "detail": "database unreachable"}
        _database_unavailable(c.post("/v1/predictions", headers=ADMIN, json=customers[0]),
                              "unreachable")
        r = c.get("/v1/risk-list", headers=ADMIN)
        _database_unavailable(r, "unreachable")


def _no_startup_writes(app, settings, host):  # noqa: ANN001, ANN202
    """The app's state as the lifespan sets it, without its start-up writes (which a
    database that went away after start has already had)."""
    from contextlib import asynccontextmanager

    from serving.scoring.service import score_writer

    @asynccontextmanager
    async def lifespan(_app):  # noqa: ANN001, ANN202
        db = Database(settings.database_url)
        app.state.db = db
        app.state.score_writer = score_writer(db, settings)
        app.state.host = host
        yield
        db.dispose()

    return lifespan


# -- start-up: fail fast, one line ---------------------------------------------------------
def test_probe_names_what_is_wrong(tmp_path: Path):
    ok = tmp_path / "ok.db"
    assert probe_url(f"sqlite:///{ok}") is None
    port = free_port()
    kind, _ = probe_url(f"postgresql+psycopg://postgres@127.0.0.1:{port}/x", timeout=1)
    assert kind == "unreachable"
    t0 = time.monotonic()
    with pytest.raises(StartupError, match=rf"127\.0\.0\.1:{port}.* unreachable \(waited 1 s\)"):
        check_database(f"postgresql+psycopg://postgres@127.0.0.1:{port}/x", wait_seconds=1)
    assert time.monotonic() - t0 < 5


@pytest.mark.skipif(not ROOT, reason="a read-only mount needs root")
def test_read_only_probe(disk: Path):
    db = Database(f"sqlite:///{disk}/c.db")
    upgrade(db.engine)
    db.dispose()
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    try:
        problem = probe_url(f"sqlite:///{disk}/c.db")
        assert problem is not None and problem[0] == "read-only", problem
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)


def _serve(env: dict[str, str], timeout: float = 30) -> tuple[int, str, float]:
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "serving.cli", "serve"], cwd=REPO,
                         env={**os.environ, **env}, capture_output=True, text=True,
                         timeout=timeout)
    return out.returncode, (out.stdout + out.stderr).strip(), time.monotonic() - t0


def test_serve_fails_fast_with_one_line_on_a_closed_port(base_settings):
    port = free_port()
    code, out, seconds = _serve({
        "CHURN_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{port}/churn",
        "CHURN_DATABASE_WAIT_SECONDS": "2", "CHURN_ADMIN_TOKEN": ADMIN_TOKEN,
        "CHURN_MODEL_URI": base_settings.model_uri,
        "MLFLOW_TRACKING_URI": base_settings.tracking_uri})
    assert code != 0
    assert "Traceback" not in out and len(out.splitlines()) == 1, out
    assert f"127.0.0.1:{port}" in out and "unreachable" in out, out
    assert seconds < 20, seconds


def test_serve_without_a_model_to_serve_says_so_in_one_line(base_settings, tmp_path):
    """No model at the configured URI: one line naming it and the fix, no server
    traceback (the model used to be loaded inside the app's start-up, under uvicorn)."""
    code, out, seconds = _serve({
        "CHURN_DATABASE_URL": f"sqlite:///{tmp_path}/churn.db",
        "CHURN_ADMIN_TOKEN": ADMIN_TOKEN, "CHURN_MODEL_URI": "models:/missing@champion",
        "MLFLOW_TRACKING_URI": base_settings.tracking_uri}, timeout=120)
    assert code != 0
    assert "Traceback" not in out, out
    last = out.splitlines()[-1]
    assert last.startswith("cannot start: no model at models:/missing@champion"), out
    assert "make train PROMOTE=1" in last and ".." not in last, last


@pytest.mark.skipif(not ROOT, reason="a read-only mount needs root")
def test_serve_fails_fast_with_one_line_on_a_read_only_file(disk: Path, base_settings):
    db = Database(f"sqlite:///{disk}/churn.db")
    upgrade(db.engine)
    db.dispose()
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    try:
        code, out, seconds = _serve({
            "CHURN_DATABASE_URL": f"sqlite:///{disk}/churn.db",
            "CHURN_ADMIN_TOKEN": ADMIN_TOKEN, "CHURN_MODEL_URI": base_settings.model_uri,
            "MLFLOW_TRACKING_URI": base_settings.tracking_uri})
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
    assert code != 0
    assert "Traceback" not in out and len(out.splitlines()) == 1, out
    assert "read-only" in out and "churn.db" in out, out
    assert seconds < 20, seconds


def test_a_lock_held_elsewhere_is_503_busy_after_the_wait_not_a_hang(
        settings, host, customers, monkeypatch):  # noqa: ANN001
    """Another transaction holding the write lock (SQLite) or a table lock (PostgreSQL,
    where nothing bounded the wait: every write hung as long as the lock was held): after
    LOCK_WAIT_MS the request is 503 busy with Retry-After; once the lock is gone, 201."""
    from serving.storage import db as dbmod

    monkeypatch.setattr(dbmod, "LOCK_WAIT_MS", 1000)
    # the writer thread: the wait is this process's setting (a writer process is forked
    # from modules imported before the test changed it)
    app = create_app(settings.model_copy(update={"writer": "thread"}), host=host)
    holder = sa.create_engine(settings.database_url.replace("postgresql://",
                                                            "postgresql+psycopg://"))
    locked, done = threading.Event(), threading.Event()

    def hold() -> None:  # released after 15 s at most: a missing bound fails, never hangs
        with holder.connect() as conn:
            if holder.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")
                conn.exec_driver_sql("LOCK TABLE predictions IN EXCLUSIVE MODE")
            locked.set()
            done.wait(15)
            conn.rollback()

    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/v1/predictions", headers=ADMIN,
                           json=customers[0]).status_code == 201
        thread = threading.Thread(target=hold)
        thread.start()
        assert locked.wait(30)
        started = time.monotonic()
        r = client.post("/v1/predictions", headers=ADMIN, json=customers[1])
        waited = time.monotonic() - started
        done.set()
        thread.join()
        _database_unavailable(r, "busy")
        assert waited < 10, waited  # the bounded wait, not the lock's life
        assert client.post("/v1/predictions", headers=ADMIN,
                           json=customers[1]).status_code == 201
    holder.dispose()
