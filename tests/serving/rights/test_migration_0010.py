"""Migration 0010 (issue 18): the rights_requests table comes and goes with its migration,
on SQLite and PostgreSQL, and its columns and indexes are the ORM's."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from serving.storage import upgrade
from serving.storage.migrate import alembic_config, current
from serving.storage.tables import RightsRequest


def test_migration_0010_goes_down_and_up_again(db):
    found = sa.inspect(db.engine)
    columns = {c["name"] for c in found.get_columns("rights_requests")}
    assert columns == set(RightsRequest.__table__.columns.keys())
    assert {ix["name"] for ix in found.get_indexes("rights_requests")} \
        == {"ix_rights_requests_customer", "ix_rights_requests_status_due"}
    now = datetime.now(UTC)
    with db.session() as s:  # the defaults the database gives an old writer
        s.execute(sa.text("INSERT INTO rights_requests (id, customer_ref, kind, status, "
                          "opened_at, due_at, opened_via, opened_by) VALUES ('r1', 'cu_x', "
                          "'access', 'open', :t, :t, 'customer', 'customer:cu_x')"),
                  {"t": now.replace(tzinfo=None)})
        s.commit()
        row = s.get(RightsRequest, "r1")
        assert (row.details, row.lang, row.version) == ("", "en", 1)
    with db.engine.begin() as conn:
        cfg = alembic_config(db.engine)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0009")
    assert current(db.engine) == "0009"
    assert "rights_requests" not in sa.inspect(db.engine).get_table_names()
    upgrade(db.engine)
    assert "rights_requests" in sa.inspect(db.engine).get_table_names()
