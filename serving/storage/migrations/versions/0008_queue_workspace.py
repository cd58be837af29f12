"""Issue 16, a queue a retention team can work from: each task's due date
(`retention_tasks.due_at`, its creation + CHURN_TASK_DUE_DAYS), when an agent last tried to
reach the customer (`customers.last_contact_at`: a customer handled recently leaves the
top of the list), and the contact attempts of a task (several per task, each with its
channel, note, time and agent; the task keeps one final outcome).

Tasks opened before this migration are given a due date of their creation + 7 days (the
setting's default).
"""

import sqlalchemy as sa
from alembic import op

from serving.storage.tables import UTCDateTime

revision = "0008"
down_revision = "0007"

DEFAULT_DUE_DAYS = 7


def upgrade() -> None:
    # plain ADD COLUMN (no table rebuild on SQLite: dropping the old table would cascade
    # to the rows that reference it)
    op.add_column("retention_tasks", sa.Column("due_at", UTCDateTime(), nullable=True))
    op.add_column("customers", sa.Column("last_contact_at", UTCDateTime(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE retention_tasks SET due_at = created_at + interval "
                   f"'{DEFAULT_DUE_DAYS} days'")
    else:  # SQLite keeps datetimes as text, 'YYYY-MM-DD HH:MM:SS.ffffff'
        op.execute("UPDATE retention_tasks SET due_at = strftime('%Y-%m-%d %H:%M:%S', "
                   f"created_at, '+{DEFAULT_DUE_DAYS} days') || substr(created_at, 20)")
    op.create_index("ix_retention_tasks_due", "retention_tasks", ["status", "due_at", "id"])
    op.create_index("ix_customers_contacted", "customers", ["last_contact_at"],
                    sqlite_where=sa.text("last_contact_at IS NOT NULL"),
                    postgresql_where=sa.text("last_contact_at IS NOT NULL"))
    op.create_table(
        "contact_attempts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("task_id", sa.String(36),
                  sa.ForeignKey("retention_tasks.id", ondelete="CASCADE",
                                name="fk_contact_attempts_task_id_retention_tasks"),
                  nullable=False),
        sa.Column("customer_ref", sa.String(64),
                  sa.ForeignKey("customers.customer_ref", ondelete="CASCADE",
                                name="fk_contact_attempts_customer_ref_customers"),
                  nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("reached", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("agent", sa.String(80), nullable=False),
        sa.Column("attempted_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_contact_attempts_task", "contact_attempts", ["task_id", "attempted_at"])


def downgrade() -> None:
    op.drop_index("ix_contact_attempts_task", table_name="contact_attempts")
    op.drop_table("contact_attempts")
    op.drop_index("ix_customers_contacted", table_name="customers")
    op.drop_index("ix_retention_tasks_due", table_name="retention_tasks")
    op.drop_column("customers", "last_contact_at")
    op.drop_column("retention_tasks", "due_at")
