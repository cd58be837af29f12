"""Databases already migrated to head, for the tests that would migrate them anyway.

Every API test starts an app on a fresh database, and the app migrates it at start: every
Alembic migration, about half a second on SQLite and more on PostgreSQL, for each of some
700 tests. The migrations themselves are still run from an empty database in every session,
on both engines (here, once per process, and by the tests that ask for an empty database),
and their own tests check them; a test that only needs the migrated schema gets the same
state faster:

- SQLite: a copy of a database file migrated once per process (the SQLite backup API, so
  the page size and WAL mode come with it);
- PostgreSQL: the session's database emptied back to what the migrations leave (every row
  deleted, the rows the migrations insert put back), after checking that its schema is
  still exactly the one the migrations made; if a test changed it (a downgrade, a dropped
  schema), the schema is dropped and migrated again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.artefacts import copy_sqlite

# A digest of everything the migrations create in PostgreSQL's public schema.
_PG_SCHEMA_DIGEST = """
SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), '')) FROM (
  SELECT 'c:' || table_name || '.' || column_name || ':' || data_type || ':'
         || is_nullable || ':' || coalesce(column_default, '') AS x
    FROM information_schema.columns WHERE table_schema = 'public'
  UNION ALL SELECT 'i:' || indexdef FROM pg_indexes WHERE schemaname = 'public'
  UNION ALL SELECT 't:' || tgname || ':' || tgrelid::regclass::text || ':' || tgenabled::text
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
   WHERE NOT t.tgisinternal AND c.relnamespace = 'public'::regnamespace
  UNION ALL SELECT 'k:' || conname || ':' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL SELECT 's:' || sequencename FROM pg_sequences WHERE schemaname = 'public'
  UNION ALL SELECT 'f:' || p.proname || ':' || md5(p.prosrc)
    FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
  UNION ALL SELECT 'v:' || viewname FROM pg_views WHERE schemaname = 'public'
) s
"""


def migrated_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh database at head of the kind `request.param` names: a new SQLite
    file under `tmp_path`, or the session's PostgreSQL database (`pg_database`) emptied back
    to the migrated state (`tests.postgres.empty_database` gives one not migrated)."""
    if request.param == "sqlite":
        scratch = request.getfixturevalue("tmp_path_factory").getbasetemp()
        copy_migrated_sqlite(tmp_path / "churn.db", scratch)
        return f"sqlite:///{tmp_path}/churn.db"
    url = request.getfixturevalue("pg_database")
    reset_migrated_pg(url)
    return url


def _migrate(url: str) -> None:
    from serving.storage import Database, upgrade

    db = Database(url)
    try:
        upgrade(db.engine)
    finally:
        db.dispose()


# -- SQLite ------------------------------------------------------------------------------------
_SQLITE_TEMPLATES: dict[Path, Path] = {}


def copy_migrated_sqlite(target: Path, scratch: Path) -> None:
    """Make `target` (a database file not created yet) a copy of a database migrated to
    head; the migrated original is built once per process in `scratch`."""
    template = _SQLITE_TEMPLATES.get(scratch)
    if template is None:
        template = scratch / "migrated-template.db"
        _migrate(f"sqlite:///{template}")
        _SQLITE_TEMPLATES[scratch] = template
    assert not target.exists(), f"{target} exists already: not a fresh database"
    copy_sqlite(template, target)


# -- PostgreSQL --------------------------------------------------------------------------------
@dataclass
class _Migrated:
    digest: str
    rows: dict[str, list[dict[str, Any]]]  # what the migrations insert, by table
    tables: list[str]
    sequences: list[str]


_PG_MIGRATED: dict[str, _Migrated] = {}
_PG_FAST = True  # False once the server refused replica mode (not a superuser)


def _snapshot(conn: sa.Connection) -> _Migrated:
    tables = list(conn.execute(sa.text(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).scalars())
    sequences = list(conn.execute(sa.text(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1"))
        .scalars())
    rows = {t: [dict(r._mapping) for r in conn.execute(sa.text(f'SELECT * FROM "{t}"'))]
            for t in tables}
    return _Migrated(conn.execute(sa.text(_PG_SCHEMA_DIGEST)).scalar_one(),
                     {t: r for t, r in rows.items() if r}, tables, sequences)


def reset_migrated_pg(url: str) -> None:
    """Bring the PostgreSQL database at `url` to the state the migrations leave in an empty
    one: the schema checked against the migrated one and every row deleted but those the
    migrations insert; migrated from scratch when its schema differs (or the first time)."""
    from tests.postgres import reset_schema

    global _PG_FAST
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        known = _PG_MIGRATED.get(url)
        if known is not None and _PG_FAST:
            try:
                if _empty_again(engine, known):
                    return
            except sa.exc.DBAPIError as exc:  # not a superuser: migrate every time
                if "permission denied" not in str(exc).lower():
                    raise
                _PG_FAST = False
        reset_schema(url)
        _migrate(url)
        with engine.connect() as conn:
            _PG_MIGRATED[url] = _snapshot(conn)
    finally:
        engine.dispose()


def _empty_again(engine: sa.Engine, known: _Migrated) -> bool:
    """Delete every row but the migrations' own, in one transaction, if the schema is the
    migrated one; False (nothing done) if it is not."""
    with engine.begin() as conn:
        if conn.execute(sa.text(_PG_SCHEMA_DIGEST)).scalar_one() != known.digest:
            return False
        # foreign keys and the audit log's append-only rule are triggers: replica mode
        # lets the rows go in any order (a superuser's right)
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        for table in known.tables:
            conn.execute(sa.text(f'DELETE FROM "{table}"'))
        for sequence in known.sequences:
            conn.execute(sa.text(f'ALTER SEQUENCE "{sequence}" RESTART'))
        for table, rows in known.rows.items():
            conn.execute(sa.table(table, *[sa.column(c) for c in rows[0]]).insert(), rows)
    return True
