"""Driver-level statements inside a session's transaction, and the model-version record
(SQLite and PostgreSQL both speak ON CONFLICT)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from serving.storage.tables import ModelVersion

OPEN_TASK_WHERE = "status IN ('open', 'claimed')"


def _insert(session: Session, table: Table):  # noqa: ANN202
    dialect = session.get_bind().dialect.name
    return (postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table))


def register_model_version(session: Session, name: str, version: str, spec: dict[str, Any],
                           at: datetime) -> None:
    stmt = _insert(session, ModelVersion.__table__).on_conflict_do_nothing(
        index_elements=["name", "version"]
    )
    session.execute(stmt, [{"name": name, "version": version, "spec": spec,
                            "first_served_at": at}])


# -- the driver-level path: executemany / COPY, no per-value ORM processing -----------
def storage_time(dialect: str, value: datetime) -> Any:
    """A datetime as the driver stores it (SQLite: SQLAlchemy's DATETIME text form)."""
    value = value.astimezone(UTC)
    if dialect == "sqlite":
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return value


class RawWriter:
    """Writes big batches through the DB driver inside the session's transaction.

    Values must already be in storage form: `db_time` for datetimes."""

    def __init__(self, session: Session):
        self.session = session
        self.connection = session.connection()
        self.dialect = self.connection.dialect.name
        self.dbapi = self.connection.connection.driver_connection
        self.mark = "?" if self.dialect == "sqlite" else "%s"

    def db_time(self, value: datetime) -> Any:
        return storage_time(self.dialect, value)

    def marks(self, n: int) -> str:
        """`n` comma-separated parameter markers of this driver."""
        return ", ".join([self.mark] * n)

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        cur = self.dbapi.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def execute(self, sql: str, params: tuple = ()) -> None:
        with self._cursor() as cur:
            cur.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[tuple]) -> None:
        with self._cursor() as cur:
            cur.executemany(sql, rows)

    def fetchone(self, sql: str, params: tuple = ()) -> tuple | None:
        with self._cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()

    def fetchall(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def _copy_temp(self, name: str, columns: str, rows: list[tuple]) -> None:
        """PostgreSQL: COPY rows into an emptied per-connection temporary table."""
        self.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({columns}) ON COMMIT DELETE ROWS")
        self.execute(f"TRUNCATE {name}")
        with self.dbapi.cursor() as cur, cur.copy(f"COPY {name} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
