"""Dialect-aware bulk statements (SQLite and PostgreSQL both speak ON CONFLICT)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, bindparam, or_, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from serving.storage.tables import Customer, ModelVersion, RetentionTask

OPEN_TASK_WHERE = "status IN ('open', 'claimed')"


def _insert(session: Session, table: Table):  # noqa: ANN202
    dialect = session.get_bind().dialect.name
    return (postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table))


def set_latest(session: Session, rows: list[dict[str, Any]]) -> None:
    """Point each customer's risk-list entry at its newest prediction
    (rows: ref, pid, score, band, at); an older prediction never overwrites a newer one."""
    if not rows:
        return
    t = Customer.__table__
    stmt = (
        t.update()
        .where(
            t.c.customer_ref == bindparam("ref"),
            or_(t.c.latest_at.is_(None), t.c.latest_at <= bindparam("at")),
        )
        .values(
            latest_prediction_id=bindparam("pid"),
            latest_score=bindparam("score"),
            latest_band=bindparam("band"),
            latest_at=bindparam("at"),
        )
    )
    session.connection().execute(stmt, rows)


def open_tasks(session: Session, rows: list[dict[str, Any]]) -> None:
    """Open a human-contact task per customer, never a second open one: the partial
    unique index decides; an unclaimed open task is pointed at the newer prediction,
    a claimed one is left to its agent. Rows: id, customer_ref, prediction_id, score,
    reason, status, created_at, updated_at, version. One row per customer."""
    if not rows:
        return
    t = RetentionTask.__table__
    ins = _insert(session, t)
    stmt = ins.on_conflict_do_update(
        index_elements=["customer_ref"],
        index_where=text(OPEN_TASK_WHERE),
        set_={
            "prediction_id": ins.excluded.prediction_id,
            "score": ins.excluded.score,
            "reason": ins.excluded.reason,
            "updated_at": ins.excluded.updated_at,
        },
        where=t.c.status == "open",
    )
    session.execute(stmt, rows)


def register_model_version(session: Session, name: str, version: str, spec: dict[str, Any],
                           at: datetime) -> None:
    stmt = _insert(session, ModelVersion.__table__).on_conflict_do_nothing(
        index_elements=["name", "version"]
    )
    session.execute(stmt, [{"name": name, "version": version, "spec": spec,
                            "first_served_at": at}])


# -- the batch fast path: the driver's executemany / COPY, no per-value ORM processing ----
PREDICTION_COLUMNS = (
    "id", "customer_ref", "model_name", "model_version", "score", "margin", "base_value",
    "risk_band", "features", "shap", "route_action", "route_reason", "source", "actor",
    "withdrawn", "created_at",
)


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

    def executemany(self, sql: str, rows: list[tuple]) -> None:
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

    def upsert_scored_customers(self, rows: list[tuple]) -> None:
        """Add or update scored customers and their risk-list entry in one statement.

        rows: (customer_ref, external_id, created_at, prediction_id, score, band, at).
        An older prediction never overwrites a newer one, and a customer restricted or
        objecting since the chunk was read keeps their entry untouched."""
        if not rows:
            return
        update = ("latest_prediction_id = excluded.latest_prediction_id, "
                  "latest_score = excluded.latest_score, latest_band = excluded.latest_band, "
                  "latest_at = excluded.latest_at "
                  "WHERE (customers.latest_at IS NULL OR customers.latest_at <= excluded.latest_at)"
                  " AND NOT customers.restricted AND NOT customers.objected")
        columns = ("customer_ref, external_id, created_at, restricted, objected, "
                   "latest_prediction_id, latest_score, latest_band, latest_at")
        if self.dialect == "postgresql":
            self._copy_temp("_batch_scored", "customer_ref text, external_id text, "
                            "created_at timestamptz, prediction_id text, score float8, "
                            "band text, at timestamptz", rows)
            self.execute(f"INSERT INTO customers ({columns}) SELECT customer_ref, external_id, "
                       "created_at, false, false, prediction_id, score, band, at "
                       "FROM _batch_scored ON CONFLICT (customer_ref) DO UPDATE SET " + update)
            return
        self.executemany(f"INSERT INTO customers ({columns}) VALUES ({self.marks(3)}, false, "
                         f"false, {self.marks(4)}) ON CONFLICT (customer_ref) DO UPDATE SET "
                         f"{update}", rows)

    def insert_predictions(self, rows: list[tuple]) -> None:
        """rows: tuples in PREDICTION_COLUMNS order."""
        if not rows:
            return
        cols = ", ".join(PREDICTION_COLUMNS)
        if self.dialect == "postgresql":
            with self.dbapi.cursor() as cur, cur.copy(
                f"COPY predictions ({cols}) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            self.executemany(f"INSERT INTO predictions ({cols}) VALUES "
                       f"({self.marks(len(PREDICTION_COLUMNS))})", rows)

    def _copy_temp(self, name: str, columns: str, rows: list[tuple]) -> None:
        """PostgreSQL: COPY rows into an emptied per-connection temporary table."""
        self.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({columns}) ON COMMIT DELETE ROWS")
        self.execute(f"TRUNCATE {name}")
        with self.dbapi.cursor() as cur, cur.copy(f"COPY {name} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def open_tasks(self, rows: list[tuple]) -> None:
        """rows: (id, customer_ref, prediction_id, score, reason, at); see `open_tasks`."""
        if not rows:
            return
        # a customer restricted or objecting since the chunk was read gets no task
        m = self.mark
        sql = ("INSERT INTO retention_tasks (id, customer_ref, prediction_id, score, reason, "
               "created_at, updated_at, status, version) "
               f"SELECT {self.marks(6)}, {m}, 'open', 1 WHERE NOT EXISTS (SELECT 1 FROM "
               f"customers WHERE customer_ref = {m} AND (restricted OR objected)) "
               f"ON CONFLICT (customer_ref) WHERE {OPEN_TASK_WHERE} DO UPDATE SET "
               "prediction_id = excluded.prediction_id, score = excluded.score, "
               "reason = excluded.reason, updated_at = excluded.updated_at "
               "WHERE retention_tasks.status = 'open'")
        self.executemany(sql, [(*r, r[-1], r[1]) for r in rows])
