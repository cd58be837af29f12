"""The migrated databases the API tests start from (tests/databases.py) are what the
migrations make in an empty database: same schema, same rows, nothing a previous test left;
and a test that changed the schema gets a freshly migrated one."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from serving.storage import Database, upgrade
from serving.storage.migrate import current
from tests import databases


def _state(url: str) -> tuple[dict[str, list[str]], dict[str, list[tuple]], str | None]:
    """Every table's columns and rows, and the migration revision."""
    db = Database(url)
    try:
        inspector = sa.inspect(db.engine)
        tables = sorted(inspector.get_table_names())
        columns = {t: sorted(c["name"] for c in inspector.get_columns(t)) for t in tables}
        with db.engine.connect() as conn:
            rows = {t: sorted(tuple(r) for r in conn.execute(sa.text(f'SELECT * FROM "{t}"')))
                    for t in tables}
        return columns, rows, current(db.engine)
    finally:
        db.dispose()


def _fresh(url: str) -> tuple:
    db = Database(url)
    upgrade(db.engine)
    db.dispose()
    return _state(url)


def _write_something(url: str) -> None:
    db = Database(url)
    with db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO staff_users (id, name, role, token_hash, active, "
                             "created_at) VALUES ('u1', 'someone', 'agent', 'h', true, "
                             "CURRENT_TIMESTAMP)"))
    db.dispose()


def test_a_sqlite_copy_is_a_freshly_migrated_database(tmp_path: Path) -> None:
    expected = _fresh(f"sqlite:///{tmp_path}/fresh.db")
    (tmp_path / "scratch").mkdir()
    databases.copy_migrated_sqlite(tmp_path / "copy.db", tmp_path / "scratch")
    assert _state(f"sqlite:///{tmp_path}/copy.db") == expected
    assert expected[2] is not None and expected[1]["audit_head"]  # the migrations' own row
    # a second copy comes from the same template, untouched by what the first one got
    _write_something(f"sqlite:///{tmp_path}/copy.db")
    databases.copy_migrated_sqlite(tmp_path / "again.db", tmp_path / "scratch")
    assert _state(f"sqlite:///{tmp_path}/again.db") == expected


@pytest.mark.postgres
def test_postgresql_is_emptied_back_to_the_migrated_state(pg_database: str,
                                                         monkeypatch) -> None:  # noqa: ANN001
    from tests.postgres import reset_schema

    reset_schema(pg_database)
    expected = _fresh(pg_database)
    monkeypatch.delitem(databases._PG_MIGRATED, pg_database, raising=False)  # as if first
    migrations = []
    original = databases._migrate
    monkeypatch.setattr(databases, "_migrate",
                        lambda url: (migrations.append(url), original(url)))

    databases.reset_migrated_pg(pg_database)  # the first time: migrated from scratch
    assert _state(pg_database) == expected and len(migrations) == 1
    _write_something(pg_database)
    assert _state(pg_database) != expected
    databases.reset_migrated_pg(pg_database)  # then: emptied, not migrated again
    assert _state(pg_database) == expected and len(migrations) == 1

    # a test that changed the schema: migrated again from scratch
    with sa.create_engine(pg_database).begin() as conn:
        conn.execute(sa.text("ALTER TABLE staff_users ADD COLUMN extra integer"))
    databases.reset_migrated_pg(pg_database)
    assert _state(pg_database) == expected and len(migrations) == 2
