"""The audit log: append-only in the database, hash-chained, serialised appends, and a
tampered row found at the right link (SQLite and PostgreSQL)."""

import threading

import pytest
import sqlalchemy as sa

from serving.audit import service as audit
from serving.storage import Database, upgrade
from serving.storage.tables import AuditEvent


def _fill(db, n=10):
    with db.session() as s:
        for i in range(n):
            audit.append(s, "test", "test.event", customer_ref=f"ref{i % 3}",
                         objects={"i": i, "ids": [str(i), "x"]}, model=("m", "1"))
        s.commit()


def _bypass(conn, dialect):
    """Switch the append-only triggers off (what an attacker with DB access could do)."""
    if dialect == "postgresql":
        conn.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
    else:
        conn.execute(sa.text("DROP TRIGGER audit_log_no_update"))
        conn.execute(sa.text("DROP TRIGGER audit_log_no_delete"))


def test_chain_verifies_and_the_database_refuses_changes(db):
    with db.session() as s:
        assert audit.verify(s).ok  # empty chain
    _fill(db)
    with db.session() as s:
        v = audit.verify(s, chunk=3)  # several pages
        assert v.ok and v.checked == 10 and v.head_seq == 10
    for stmt in ("UPDATE audit_log SET action = 'x' WHERE seq = 3",
                 "DELETE FROM audit_log WHERE seq = 10"):
        with db.engine.connect() as conn, pytest.raises(sa.exc.DBAPIError) as err:
            conn.execute(sa.text(stmt))
        assert "append-only" in str(err.value)
    if db.dialect == "postgresql":
        with db.engine.connect() as conn, pytest.raises(sa.exc.DBAPIError):
            conn.execute(sa.text("TRUNCATE audit_log"))


@pytest.mark.parametrize("column", ["action", "customer_ref", "objects", "at"])
def test_a_tampered_row_is_found_at_its_link(db, column):
    _fill(db)
    value = {"action": "'nothing.happened'", "customer_ref": "'someone-else'",
             "objects": "'{}'", "at": "at"}[column]
    with db.engine.begin() as conn:
        _bypass(conn, db.dialect)
        if column == "at":
            shift = ("at + interval '1 second'" if db.dialect == "postgresql"
                     else "datetime(at, '+1 second')")
            conn.execute(sa.text(f"UPDATE audit_log SET at = {shift} WHERE seq = 4"))
        else:
            conn.execute(sa.text(f"UPDATE audit_log SET {column} = {value} WHERE seq = 4"))
    with db.session() as s:
        v = audit.verify(s)
    assert not v.ok and v.first_broken == 4 and "changed" in v.detail
    assert v.checked == 3


def test_a_rehashed_row_breaks_the_next_link(db):
    _fill(db)
    with db.session() as s:
        row = s.get(AuditEvent, 6)
        forged = audit.row_hash(6, row.at, "nothing.happened", row.actor, row.role,
                                row.customer_ref, row.objects, row.model_name,
                                row.model_version, row.prev_hash)
    with db.engine.begin() as conn:
        _bypass(conn, db.dialect)
        conn.execute(sa.text("UPDATE audit_log SET action = 'nothing.happened', hash = :h "
                             "WHERE seq = 6"), {"h": forged})
    with db.session() as s:
        v = audit.verify(s)
    assert not v.ok and v.first_broken == 7 and "link" in v.detail


def test_deleted_rows_are_found(db):
    _fill(db)
    with db.engine.begin() as conn:
        _bypass(conn, db.dialect)
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq IN (5, 10)"))
    with db.session() as s:
        v = audit.verify(s)
    assert not v.ok and v.first_broken == 5 and "missing" in v.detail
    with db.engine.begin() as conn:  # only the last row gone: the head tells
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq >= 5"))
    with db.session() as s:
        v = audit.verify(s)
    assert not v.ok and v.first_broken == 5 and "removed" in v.detail


def test_content_is_refused():
    with pytest.raises(ValueError):
        audit.canonical_objects({"statement": "x" * 500})
    with pytest.raises(ValueError):
        audit.canonical_objects({"score": 0.93})


def test_concurrent_appends_from_two_instances_never_fork(database_url):
    """Two engines (as two app instances would have) appending at once."""
    one, two = Database(database_url), Database(database_url)
    upgrade(one.engine)
    errors = []

    def work(db, name):
        try:
            for i in range(25):
                with db.session() as s:
                    audit.append(s, name, "test.event", objects={"i": i})
                    s.commit()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(db, f"w{k}"))
               for k, db in enumerate([one, two, one, two])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with one.session() as s:
        v = audit.verify(s)
        assert v.ok and v.checked == 100
        seqs = s.scalars(sa.select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
    assert seqs == list(range(1, 101))
    one.dispose()
    two.dispose()


def test_audit_routes(api, by_risk):
    api.score(by_risk[0])
    # a high-risk score writes its receipt, then the task it opens (issue 16)
    events = api.get("/v1/audit/events", role="admin", limit=1).json()
    assert events["items"][0]["action"] == "retention_task.created"
    events = api.get("/v1/audit/events", role="admin", limit=1,
                     before_seq=events["next_before_seq"]).json()
    assert events["items"][0]["action"] == "prediction.created"
    assert events["items"][0]["model_version"]
    older = api.get("/v1/audit/events", role="admin",
                    before_seq=events["next_before_seq"], limit=5).json()
    assert older["items"][0]["seq"] == events["items"][0]["seq"] - 1
    only = api.get("/v1/audit/events", role="admin", action="model.loaded").json()
    assert {e["action"] for e in only["items"]} == {"model.loaded"}
    assert api.post("/v1/admin/reload-model", role="admin").status_code == 200
    api.get("/v1/retention-tasks")
    api.get("/v1/risk-list", band="high")
    latest = api.get("/v1/audit/events", role="admin", limit=3).json()["items"]
    assert [e["action"] for e in latest] == ["risk_list.read", "retention_tasks.read",
                                             "model.reloaded"]
    assert latest[0]["object_ids"]["band"] == "high" and latest[2]["model_version"]
    assert api.get("/v1/audit/verify", role="admin").json()["ok"] is True
    for role in ("agent", "reviewer"):
        assert api.get("/v1/audit/verify", role=role).status_code == 403


def test_batch_scoring_writes_one_summary_per_chunk(settings, host, tmp_path, client):
    from serving.batch import score_file
    from training.synthetic import generate

    path = tmp_path / "base.csv"
    generate(1000, seed=3).to_csv(path, index=False)
    db = Database(settings.database_url)
    report = score_file(settings, path, "training/datasets/synthetic.yaml", db=db, host=host,
                        chunk_rows=400)
    with db.session() as s:
        rows = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "batch.scored")
                         .order_by(AuditEvent.seq)).all()
        assert audit.verify(s).ok
    db.dispose()
    # one per chunk written: 400-row chunks, the first scored in 4 growing pieces
    assert len(rows) == 4 + 2 and all(r.actor == "batch" and r.model_version for r in rows)
    import json
    assert sum(json.loads(r.objects)["predictions"] for r in rows) == report.scored
