"""Storage on SQLite and PostgreSQL: migrations, constraints, pragmas, UTC times."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from serving.storage import Database, upgrade
from serving.storage.migrate import current
from serving.storage.receipts import LatestEntry, Receipts, TaskRow
from serving.storage.tables import Base, Customer, Prediction, RetentionTask, new_id


def test_migrations_build_exactly_the_tables(db):
    upgrade(db.engine)  # idempotent
    assert current(db.engine) == "0015"  # the head: 0015 (batch runs, resumed after a crash)
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    assert diff == []


def test_sqlite_pragmas(tmp_path):
    d = Database(f"sqlite:///{tmp_path}/p.db")
    with d.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 8192
    d.dispose()


def test_a_database_made_with_other_pages_keeps_them_and_migrates(tmp_path):
    """The page size applies to new files only: an existing 4 KiB database still opens,
    migrates and writes."""
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA page_size=4096")
        conn.execute("CREATE TABLE kept (v)")
        conn.execute("INSERT INTO kept VALUES (1)")
    d = Database(f"sqlite:///{path}")
    upgrade(d.engine)
    with d.session() as s:
        _customer(s)
        s.commit()
    with d.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 4096
        assert conn.exec_driver_sql("SELECT v FROM kept").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    d.dispose()


def _customer(s, ref="cu_1"):
    now = datetime.now(UTC)
    s.add(Customer(customer_ref=ref, external_id=ref + "-raw", created_at=now))
    s.flush()
    pid = new_id()
    s.add(Prediction(id=pid, customer_ref=ref, model_name="m", model_version="1", score=0.9,
                     margin=1.0, base_value=-1.0, risk_band="high", features="{}",
                     shap=b"", route_action="human_contact", route_reason="r", source="api",
                     actor="t", created_at=now))
    s.flush()
    return pid, now


def _task(pid, ref="cu_1", status="open", score=0.9):
    now = datetime.now(UTC)
    return {"id": new_id(), "customer_ref": ref, "prediction_id": pid, "status": status,
            "score": score, "reason": "r", "created_at": now, "updated_at": now, "version": 1}


def test_one_open_task_per_customer_is_enforced_by_the_database(db):
    with db.session() as s:
        pid, _ = _customer(s)
        s.execute(RetentionTask.__table__.insert(), [_task(pid)])
        s.commit()
        with pytest.raises(sa.exc.IntegrityError):
            s.execute(RetentionTask.__table__.insert(), [_task(pid, status="claimed")])
        s.rollback()
        # a finished task does not block a new one
        s.execute(RetentionTask.__table__.update().values(status="done"))
        s.execute(RetentionTask.__table__.insert(), [_task(pid)])
        s.commit()
        assert s.scalar(sa.select(sa.func.count()).select_from(RetentionTask)) == 2


def _task_row(db, pid, ref="cu_1", score=0.9):
    return TaskRow(new_id(), ref, pid, score, "r", db.db_time(datetime.now(UTC)))


def test_open_tasks_upsert_never_duplicates(db):
    with db.session() as s:
        pid, _ = _customer(s)
        pid2 = new_id()
        s.add(Prediction(id=pid2, customer_ref="cu_1", model_name="m", model_version="1",
                         score=0.95, margin=1.0, base_value=-1.0, risk_band="high",
                         features="{}", shap=b"", route_action="human_contact",
                         route_reason="r", source="api", actor="t",
                         created_at=datetime.now(UTC)))
        s.commit()
        w = Receipts(s)
        w.open_tasks([_task_row(w, pid)], 7)
        w.open_tasks([_task_row(w, pid2, score=0.95)], 7)
        s.commit()
        tasks = s.scalars(sa.select(RetentionTask)).all()
        assert len(tasks) == 1
        assert tasks[0].prediction_id == pid2 and tasks[0].score == 0.95  # refreshed
        # a claimed task is left to its agent
        s.execute(RetentionTask.__table__.update().values(status="claimed"))
        w = Receipts(s)
        w.open_tasks([_task_row(w, pid, score=0.5)], 7)
        s.commit()
        s.expire_all()
        tasks = s.scalars(sa.select(RetentionTask)).all()
        assert len(tasks) == 1 and tasks[0].prediction_id == pid2


def test_latest_prediction_never_goes_back_in_time(db):
    with db.session() as s:
        pid, now = _customer(s)
        w = Receipts(s)
        w.move_latest([LatestEntry("cu_1", None, pid, 0.9, "high", w.db_time(now))])
        older = now.replace(year=now.year - 1)
        w.move_latest([LatestEntry("cu_1", None, "other", 0.1, "low", w.db_time(older))])
        s.commit()
        c = s.get(Customer, "cu_1")
        assert c.latest_prediction_id == pid and c.latest_at == now
        assert c.latest_at.tzinfo is not None


@pytest.mark.parametrize("flag", ["restricted", "objected"])
def test_no_task_opens_for_a_restricted_or_objecting_customer(db, flag):
    """The one task writer re-checks the record at write time, whoever calls it."""
    with db.session() as s:
        pid, _ = _customer(s)
        s.execute(Customer.__table__.update().values(**{flag: True}))
        w = Receipts(s)
        w.open_tasks([_task_row(w, pid)], 7)
        s.commit()
        assert s.scalar(sa.select(sa.func.count()).select_from(RetentionTask)) == 0
        s.execute(Customer.__table__.update().values(**{flag: False}))
        w.open_tasks([_task_row(w, pid)], 7)
        s.commit()
        assert s.scalar(sa.select(sa.func.count()).select_from(RetentionTask)) == 1


def test_foreign_keys_hold(db):
    with db.session() as s:
        s.add(Prediction(id=new_id(), customer_ref="cu_nobody", model_name="m",
                         model_version="1", score=0.1, margin=0.0, base_value=0.0,
                         risk_band="low", features="{}", shap=b"", route_action="none",
                         route_reason="r", source="api", actor="t",
                         created_at=datetime.now(UTC)))
        with pytest.raises(sa.exc.IntegrityError):
            s.commit()


def test_raw_ids_only_in_customers(db):
    """Only `customers.external_id` may hold a raw customer id."""
    insp = sa.inspect(db.engine)
    for table in insp.get_table_names():
        cols = {c["name"] for c in insp.get_columns(table)}
        if table != "customers":
            assert "external_id" not in cols and "customer_id" not in cols, table


def test_migration_0004_goes_down_and_up_again(db):
    """The slimmer indexes come and go with their migration, data untouched."""
    from alembic import command

    from serving.storage.migrate import alembic_config

    def indexes():
        found = sa.inspect(db.engine)
        return {ix["name"]: ix["column_names"]
                for t in ("customers", "predictions") for ix in found.get_indexes(t)}

    with db.session() as s:
        _customer(s)
        s.commit()
    assert "ix_customers_risk" not in indexes()
    assert indexes()["ix_predictions_customer"] == ["customer_ref"]
    with db.engine.begin() as conn:
        cfg = alembic_config(db.engine)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    assert indexes()["ix_customers_risk"] == ["latest_score", "customer_ref"]
    assert indexes()["ix_predictions_customer"] == ["customer_ref", "created_at"]
    upgrade(db.engine)
    assert current(db.engine) == "0015" and "ix_customers_risk" not in indexes()
    with db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Prediction)) == 1


@pytest.mark.parametrize("lock", [False, True])
def test_one_read_of_who_may_be_scored_is_the_three_reads(db, lock):
    """`Receipts.standing` (the online write's one statement) reads what `flags`,
    `erased` and `overturned` read, locking the customers' rows on PostgreSQL."""
    from serving.storage.tables import Erasure

    now = datetime.now(UTC)
    with db.session() as s:
        for ref, restricted, objected in (("cu_r", True, False), ("cu_o", False, True),
                                          ("cu_w", False, False), ("cu_x", False, False)):
            s.add(Customer(customer_ref=ref, created_at=now, restricted=restricted,
                           objected=objected))
        s.add(Erasure(customer_ref="cu_gone", erased_at=now))
        s.flush()
        for features, withdrawn in (('{"a":1}', True), ('{"a":2}', True), ('{"a":3}', False)):
            s.add(Prediction(id=new_id(), customer_ref="cu_w", model_name="m",
                             model_version="1", score=0.5, margin=0.0, base_value=0.0,
                             risk_band="medium", features=features, shap=b"",
                             route_action="none", route_reason="r", source="api",
                             actor="t", withdrawn=withdrawn, created_at=now))
        s.commit()
        w = Receipts(s)
        refs = ["cu_w", "cu_r", "cu_o", "cu_gone", "cu_new", "cu_x", "cu_r"]
        got = w.standing(refs, lock=lock)
        assert got.flags == w.flags(refs) == {"cu_r": (True, False), "cu_o": (False, True),
                                              "cu_w": (False, False), "cu_x": (False, False)}
        assert got.erased == w.erased(refs) == {"cu_gone"}
        assert got.overturned == w.overturned(refs) == {"cu_w": {'{"a":1}', '{"a":2}'}}
        assert got.carried == {}
        assert w.standing([]) == ({}, set(), {}, {})
        s.rollback()


@pytest.mark.parametrize("lock", [False, True])
def test_who_carries_an_open_task_from_before_a_time(db, lock):
    """`Receipts.standing(carried_before=...)` (the online write's one statement, one part
    per period start asked about), `Receipts.carried` (a reviewer's rectification) and
    `Receipts.open_task_since` (the batch, once per run) agree on which customers have an
    open or claimed task created before a time; done and cancelled tasks do not count."""
    now = datetime(2026, 11, 10, 12, tzinfo=UTC)
    nov, dec = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    made = {"cu_old": ("open", datetime(2026, 10, 20, tzinfo=UTC)),
            "cu_claimed": ("claimed", datetime(2026, 9, 2, tzinfo=UTC)),
            "cu_now": ("open", now),
            "cu_done": ("done", datetime(2026, 10, 3, tzinfo=UTC)),
            "cu_cancelled": ("cancelled", datetime(2026, 10, 3, tzinfo=UTC))}
    with db.session() as s:
        for ref, (status, created) in made.items():
            s.add(Customer(customer_ref=ref, created_at=created, restricted=False,
                           objected=False))
            s.flush()
            pid = new_id()
            s.add(Prediction(id=pid, customer_ref=ref, model_name="m", model_version="1",
                             score=0.9, margin=0.0, base_value=0.0, risk_band="high",
                             features="{}", shap=b"", route_action="human_contact",
                             route_reason="r", source="api", actor="t", withdrawn=False,
                             created_at=created))
            s.flush()
            s.add(RetentionTask(customer_ref=ref, prediction_id=pid, status=status,
                                score=0.9, reason="r", created_at=created, updated_at=created))
        s.commit()
        w = Receipts(s)
        refs = [*made, "cu_new"]
        got = w.standing(refs, lock=lock, carried_before=[dec, nov, nov])
        assert got.carried == {nov: {"cu_old", "cu_claimed"},
                               dec: {"cu_old", "cu_claimed", "cu_now"}}
        assert got.flags.keys() == set(made)  # the other reads are as before
        assert w.carried(refs, nov) == {"cu_old", "cu_claimed"}
        assert w.carried(["cu_now", "cu_new"], nov) == set() and w.carried([], nov) == set()
        assert w.open_task_since() == {"cu_old": made["cu_old"][1],
                                       "cu_claimed": made["cu_claimed"][1],
                                       "cu_now": now}
        assert w.standing([], carried_before=[nov]).carried == {nov: set()}
        s.rollback()


def test_new_ids_are_time_ordered_uuid7_whatever_their_number():
    """A few ids (one request's) and many (a batch's) are made two ways: both UUIDv7 with
    the current millisecond, the RFC 4122 variant and 74 random bits."""
    import time
    import uuid

    from serving.storage.tables import new_ids

    for n in (1, 2, 15, 16, 300):
        before = time.time_ns() // 1_000_000
        ids = new_ids(n)
        after = time.time_ns() // 1_000_000
        assert len(ids) == len(set(ids)) == n
        for text in ids:
            u = uuid.UUID(text)
            assert str(u) == text and u.version == 7 and u.variant == uuid.RFC_4122
            assert before <= u.int >> 80 <= after
    # the random bits vary (rand_a and rand_b), in both ways of making them
    for n in (8, 64):
        ids = [uuid.UUID(i).int for i in new_ids(n)]
        assert len({i >> 64 & 0xFFF for i in ids}) > 1
        assert len({i & (1 << 62) - 1 for i in ids}) == n


def test_ascending_ids_never_interleave_across_calls():
    """A batch mints each chunk's task ids as it writes the chunk: every id is above every
    id minted before (new_ids' ids of one millisecond are in random order), and each is a
    UUIDv7 of the current millisecond."""
    import time
    import uuid

    from serving.storage.tables import ascending_ids

    before = time.time_ns() // 1_000_000
    runs = [ascending_ids(n) for n in (5, 1, 40, 0, 300, 17) * 20]
    after = time.time_ns() // 1_000_000
    flat = [i for run in runs for i in run]
    assert flat == sorted(flat) and len(set(flat)) == len(flat) == 363 * 20
    for text in flat:
        u = uuid.UUID(text)
        assert str(u) == text and u.version == 7 and u.variant == uuid.RFC_4122
        assert before <= u.int >> 80 <= after


def test_a_kept_read_sees_each_commit_at_once(db):
    """`Database.read` (the staff token's lookup on every request) sees a change committed
    by any other connection on its next call: on SQLite its kept connection holds no
    transaction between reads; disposing of the engine closes it, and reads go on."""
    from serving.storage import staff as store

    with db.session() as s:
        user = store.insert(s, "reader test", "agent", "h" * 64)
        s.commit()
    assert store.active_by_token_hash(db, "h" * 64) == (user.id, "agent")
    assert store.active_by_token_hash(db, "x" * 64) is None
    with db.session() as s:
        store.change(s, user.id, active=False)
        s.commit()
    assert store.active_by_token_hash(db, "h" * 64) is None
    if db.dialect == "sqlite":
        assert db._reader is not None and not db._reader.conn.in_transaction
    db.engine.dispose()
    assert db._reader is None
    with db.session() as s:
        store.change(s, user.id, active=True, role="reviewer")
        s.commit()
    assert store.active_by_token_hash(db, "h" * 64) == (user.id, "reviewer")
