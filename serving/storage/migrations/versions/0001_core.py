"""core: staff, model versions, customers, predictions (decision receipts), retention tasks.

Issue 4 adds disputes, objections, idempotency keys and the audit log in 0002.
Original title: customers, predictions, retention tasks, staff, model versions
"""

import sqlalchemy as sa
from alembic import op

from serving.storage.tables import JSONType, UTCDateTime

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("customer_ref", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("restricted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("objected", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("latest_prediction_id", sa.String(length=36), nullable=True),
        sa.Column("latest_score", sa.Float(), nullable=True),
        sa.Column("latest_band", sa.String(length=8), nullable=True),
        sa.Column("latest_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("customer_ref", name=op.f("pk_customers")),
        sa.UniqueConstraint("external_id", name=op.f("uq_customers_external_id")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customers_band_risk", ["latest_band", "latest_score", "customer_ref"], unique=False
        )
        batch_op.create_index("ix_customers_risk", ["latest_score", "customer_ref"], unique=False)

    op.create_table(
        "model_versions",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column(
            "spec",
            JSONType,
            nullable=False,
        ),
        sa.Column("first_served_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", "version", name=op.f("pk_model_versions")),
    )
    op.create_table(
        "staff_users",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_users_token_hash")),
    )
    op.create_table(
        "predictions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("customer_ref", sa.String(length=64), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("model_version", sa.String(length=50), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("margin", sa.Float(), nullable=False),
        sa.Column("base_value", sa.Float(), nullable=False),
        sa.Column("risk_band", sa.String(length=8), nullable=False),
        sa.Column("features", sa.Text(), nullable=False),
        sa.Column("shap", sa.LargeBinary(), nullable=False),
        sa.Column("route_action", sa.String(length=16), nullable=False),
        sa.Column("route_reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_ref"],
            ["customers.customer_ref"],
            name=op.f("fk_predictions_customer_ref_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_predictions")),
    )
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_predictions_customer", ["customer_ref", "created_at"], unique=False
        )

    op.create_table(
        "retention_tasks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("customer_ref", sa.String(length=64), nullable=False),
        sa.Column("prediction_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("completed_by", sa.String(length=80), nullable=True),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_ref"],
            ["customers.customer_ref"],
            name=op.f("fk_retention_tasks_customer_ref_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["prediction_id"],
            ["predictions.id"],
            name=op.f("fk_retention_tasks_prediction_id_predictions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_tasks")),
    )
    with op.batch_alter_table("retention_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_retention_tasks_queue", ["status", "score", "id"], unique=False)
        batch_op.create_index(
            "uq_retention_tasks_open_customer",
            ["customer_ref"],
            unique=True,
            sqlite_where=sa.text("status IN ('open', 'claimed')"),
            postgresql_where=sa.text("status IN ('open', 'claimed')"),
        )


def downgrade() -> None:
    with op.batch_alter_table("retention_tasks", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_retention_tasks_open_customer",
            sqlite_where=sa.text("status IN ('open', 'claimed')"),
            postgresql_where=sa.text("status IN ('open', 'claimed')"),
        )
        batch_op.drop_index("ix_retention_tasks_queue")

    op.drop_table("retention_tasks")
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.drop_index("ix_predictions_customer")

    op.drop_table("predictions")
    op.drop_table("staff_users")
    op.drop_table("model_versions")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_risk")
        batch_op.drop_index("ix_customers_band_risk")

    op.drop_table("customers")
