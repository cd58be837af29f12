"""Can the database be used: what a database error says about it, and a write probe.

`classify(exc)` names what an exception from SQLAlchemy says about the database itself:
unreachable, read-only, full, busy (or None: another error, such as a constraint). The API
answers the first three (and busy) with 503 (`serving.errors`), and `/readyz` runs `problem`
on every call: a write that is rolled back (the write lock taken, so a read-only file or
server is found), plus, on SQLite, the free space beside the file (a full disk does not
show in a rolled-back write).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

UNREACHABLE = "unreachable"
READ_ONLY = "read-only"
FULL = "full"
BUSY = "busy"
UNUSABLE = "unusable"  # e.g. a SQLite file that cannot be opened

# SQLite: below this much free space beside the file the database counts as full (a write
# needs room in the WAL; a rolled-back probe does not show a full disk)
SQLITE_MIN_FREE_BYTES = 1024 * 1024

_SQLITE = {"SQLITE_READONLY": READ_ONLY, "SQLITE_FULL": FULL, "SQLITE_BUSY": BUSY,
           "SQLITE_LOCKED": BUSY, "SQLITE_CANTOPEN": UNUSABLE, "SQLITE_PERM": READ_ONLY}
_SQLITE_TEXT = (("readonly", READ_ONLY), ("read-only", READ_ONLY),
                ("disk is full", FULL), ("database is locked", BUSY),
                ("unable to open", UNUSABLE))
# PostgreSQL SQLSTATE classes and codes
_PG = {"25006": READ_ONLY,  # read_only_sql_transaction (also a hot standby)
       "53100": FULL, "53200": FULL, "53300": BUSY,  # disk full, out of memory, too many
       "57P01": UNREACHABLE, "57P02": UNREACHABLE, "57P03": UNREACHABLE,  # shutdown, starting
       "40001": BUSY, "40P01": BUSY, "55P03": BUSY, "57014": BUSY}  # retry, lock, timeout


def classify(exc: BaseException) -> str | None:
    """What `exc` says about the database: UNREACHABLE, READ_ONLY, FULL, BUSY, UNUSABLE,
    or None when it is another kind of error (a bug or a constraint)."""
    if isinstance(exc, sa.exc.TimeoutError):  # no pooled connection free in time
        return BUSY
    if isinstance(exc, sa.exc.DBAPIError):
        orig, invalidated = exc.orig, exc.connection_invalidated
    elif type(exc).__module__.split(".")[0] in ("sqlite3", "psycopg"):  # raw driver (bulk)
        orig, invalidated = exc, False
    else:
        return None
    name = getattr(orig, "sqlite_errorname", None)
    if name is not None:
        for prefix, kind in _SQLITE.items():
            if name.startswith(prefix):
                return kind
        if name.startswith("SQLITE_IOERR"):
            return FULL if "full" in str(orig).lower() else UNUSABLE
    text = str(orig).lower()
    for needle, kind in _SQLITE_TEXT:
        if needle in text and type(orig).__module__.startswith("sqlite3"):
            return kind
    state = getattr(orig, "sqlstate", None)
    if state in _PG:
        return _PG[state]
    if state and state.startswith("08"):  # connection exception
        return UNREACHABLE
    if invalidated:
        return UNREACHABLE
    if type(orig).__name__ == "OperationalError" or isinstance(exc, sa.exc.OperationalError):
        # psycopg: a failed connection has no SQLSTATE
        return UNREACHABLE if state is None and "sqlite" not in type(orig).__module__ \
            else BUSY
    return None


def driver_errors() -> tuple[type[BaseException], ...]:
    """The exception types a handler must catch to see every database failure: SQLAlchemy's
    and the drivers' own (raw cursors write the bulk rows)."""
    import sqlite3

    out: list[type[BaseException]] = [sa.exc.OperationalError, sa.exc.InternalError,
                                      sa.exc.TimeoutError, sqlite3.OperationalError]
    try:
        import psycopg

        out += [psycopg.OperationalError, psycopg.InternalError]
    except ImportError:  # pragma: no cover - psycopg is a dependency
        pass
    return tuple(out)


def first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return (lines[0] if lines else type(orig).__name__)[:200]


def _sqlite_free_problem(engine: Engine) -> tuple[str, str] | None:
    """A SQLite file (or its folder, where the WAL lives) that cannot be written, or too
    little room beside it."""
    path = make_url(str(engine.url)).database
    if not path or path == ":memory:":
        return None
    file = Path(path).resolve()
    for where in (file, file.parent):
        if where.exists() and not os.access(where, os.W_OK):
            return READ_ONLY, f"{where.name or where} is not writable"
    try:
        free = shutil.disk_usage(Path(path).resolve().parent).free
    except OSError as exc:
        return UNUSABLE, str(exc)[:200]
    if free < SQLITE_MIN_FREE_BYTES:
        return FULL, f"{free // 1024} KiB free beside {Path(path).name}"
    return None


def probe(engine: Engine, timeout: float = 1.0) -> tuple[str, str] | None:
    """None when the database takes a write now (tried, then rolled back), else (kind,
    detail). A database busy with other writers counts as writable."""
    try:
        if engine.dialect.name == "sqlite":
            return _probe_sqlite(engine, timeout)
        return _probe_postgres(engine, timeout)
    except (sa.exc.DBAPIError, sa.exc.TimeoutError) as exc:
        kind = classify(exc) or UNUSABLE
        return None if kind == BUSY else (kind, first_line(exc))


def _probe_sqlite(engine: Engine, timeout: float) -> tuple[str, str] | None:
    full = _sqlite_free_problem(engine)
    if full is not None:
        return full
    lock = getattr(engine, "info_write_lock", None)
    if lock is not None and not lock.acquire(timeout=timeout):
        return None  # this process is writing: busy, not broken
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")  # takes the write lock
                conn.exec_driver_sql("ROLLBACK")
            finally:
                conn.exec_driver_sql("PRAGMA busy_timeout=30000")
                conn.rollback()
    finally:
        if lock is not None:
            lock.release()
    return None


def _probe_postgres(engine: Engine, timeout: float) -> tuple[str, str] | None:
    ms = int(timeout * 1000)
    with engine.connect() as conn:
        with conn.begin() as tx:
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {ms}")
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {2 * ms}")
            exists = conn.scalar(sa.text("SELECT to_regclass('alembic_version') IS NOT NULL"))
            if exists:  # touches one row no request locks
                conn.exec_driver_sql("UPDATE alembic_version SET version_num = version_num")
            else:  # before the first migration
                conn.exec_driver_sql("CREATE TABLE churn_write_probe (x integer)")
            tx.rollback()
    return None


def problem(db, timeout: float = 1.0) -> tuple[str, str] | None:  # noqa: ANN001 - Database
    """`probe` on the app's database."""
    return probe(db.engine, timeout)


def probe_url(url: str, timeout: float = 5.0) -> tuple[str, str] | None:
    """`probe` on a database URL, with a connection of its own (start-up checks)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if path and path != ":memory:":
            parent = Path(path).resolve().parent
            if not parent.exists():
                try:
                    parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    return UNUSABLE, f"cannot create {parent}: {exc.strerror}"
        engine = sa.create_engine(url, poolclass=NullPool)
    else:
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = sa.create_engine(parsed, poolclass=NullPool,
                                  connect_args={"connect_timeout": max(1, int(timeout))})
    try:
        return probe(engine, timeout=min(timeout, 2.0))
    finally:
        engine.dispose()
