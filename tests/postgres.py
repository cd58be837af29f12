"""The PostgreSQL server the suites use (127.0.0.1:5432, trust auth by default): a
uniquely named database per test session, emptied between tests, dropped at the end."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get("CHURN_TEST_PG_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextmanager
def temporary_database(prefix: str) -> Iterator[str]:
    """Create a fresh database named `<prefix>_<random>`; yields its URL, then drops it."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:  # pragma: no cover - no server
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {exc}")
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def reset_schema(url: str) -> None:
    """Empty a database: drop and recreate its public schema."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database of the kind `request.param` names: a new SQLite file
    under `tmp_path`, or the session's PostgreSQL database (`pg_database`) emptied. The body
    of every `database_url` fixture."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/churn.db"
    url = request.getfixturevalue("pg_database")
    reset_schema(url)
    return url
