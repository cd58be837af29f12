"""contestability: disputes, decisions, idempotency keys, objections, hash-chained audit log.

The audit log is append-only in the database too: triggers refuse UPDATE and DELETE
(and TRUNCATE on PostgreSQL). Its chain head row starts at sequence 0, genesis hash.
"""

import sqlalchemy as sa
from alembic import op

from serving.storage.tables import GENESIS_HASH, JSONType, UTCDateTime

revision = "0002"
down_revision = "0001"

REFUSE = "audit_log is append-only: rows are never changed or deleted"

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSE}'); END",
    f"CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSE}'); END",
]
PG_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN RAISE EXCEPTION '{REFUSE}'; END $$",
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
]


def upgrade() -> None:
    op.create_table(
        "disputes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("customer_ref", sa.String(length=64), nullable=False),
        sa.Column("prediction_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("contested", JSONType, nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("wants_human_review", sa.Boolean(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("due_by", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["customer_ref"], ["customers.customer_ref"],
                                name=op.f("fk_disputes_customer_ref_customers"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["prediction_id"], ["predictions.id"],
                                name=op.f("fk_disputes_prediction_id_predictions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
    )
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.create_index("ix_disputes_customer", ["customer_ref", "received_at"],
                              unique=False)
        batch_op.create_index("ix_disputes_queue", ["status", "received_at", "id"],
                              unique=False)
        batch_op.create_index("uq_disputes_open_prediction", ["prediction_id"], unique=True,
                              sqlite_where=sa.text("status = 'open'"),
                              postgresql_where=sa.text("status = 'open'"))

    op.create_table(
        "dispute_decisions",
        sa.Column("dispute_id", sa.String(length=36), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("corrected_features", JSONType, nullable=True),
        sa.Column("new_prediction_id", sa.String(length=36), nullable=True),
        sa.Column("changes", JSONType, nullable=True),
        sa.Column("restriction_lifted", sa.Boolean(), nullable=False),
        sa.Column("decided_by", sa.String(length=80), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["dispute_id"], ["disputes.id"],
                                name=op.f("fk_dispute_decisions_dispute_id_disputes"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("dispute_id", name=op.f("pk_dispute_decisions")),
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("customer_ref", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("dispute_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["customer_ref"], ["customers.customer_ref"],
                                name=op.f("fk_idempotency_keys_customer_ref_customers"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["dispute_id"], ["disputes.id"],
                                name=op.f("fk_idempotency_keys_dispute_id_disputes"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("customer_ref", "key", name=op.f("pk_idempotency_keys")),
    )

    op.create_table(
        "objections",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("customer_ref", sa.String(length=64), nullable=False),
        sa.Column("objected_at", UTCDateTime(), nullable=False),
        sa.Column("objected_by", sa.String(length=80), nullable=False),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.Column("withdrawn_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(["customer_ref"], ["customers.customer_ref"],
                                name=op.f("fk_objections_customer_ref_customers"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objections")),
    )
    with op.batch_alter_table("objections", schema=None) as batch_op:
        batch_op.create_index("uq_objections_active_customer", ["customer_ref"], unique=True,
                              sqlite_where=sa.text("withdrawn_at IS NULL"),
                              postgresql_where=sa.text("withdrawn_at IS NULL"))

    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("customer_ref", sa.String(length=64), nullable=True),
        sa.Column("objects", sa.Text(), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=True),
        sa.Column("model_version", sa.String(length=50), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_action", ["action", "seq"], unique=False)
        batch_op.create_index("ix_audit_log_customer", ["customer_ref", "seq"], unique=False)

    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS_HASH}])

    dialect = op.get_bind().dialect.name
    for statement in PG_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_customer")
        batch_op.drop_index("ix_audit_log_action")
    op.drop_table("audit_log")
    with op.batch_alter_table("objections", schema=None) as batch_op:
        batch_op.drop_index("uq_objections_active_customer",
                            sqlite_where=sa.text("withdrawn_at IS NULL"),
                            postgresql_where=sa.text("withdrawn_at IS NULL"))
    op.drop_table("objections")
    op.drop_table("idempotency_keys")
    op.drop_table("dispute_decisions")
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_index("uq_disputes_open_prediction",
                            sqlite_where=sa.text("status = 'open'"),
                            postgresql_where=sa.text("status = 'open'"))
        batch_op.drop_index("ix_disputes_queue")
        batch_op.drop_index("ix_disputes_customer")
    op.drop_table("disputes")
