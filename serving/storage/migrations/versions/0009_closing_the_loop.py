"""Issue 17, closing the loop: who actually left (`churn_events`), and on each receipt the
control-group arm (`contact` | `control`, null when the prediction would open no task),
the targeting rule in force (`risk` | `uplift`) and the estimated uplift, if any.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_table(
        "churn_events",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("customer_ref", sa.String(64),
                  sa.ForeignKey("customers.customer_ref", ondelete="CASCADE",
                                name="fk_churn_events_customer_ref_customers"),
                  nullable=False),
        sa.Column("left_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(120), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
    )
    # one event per customer and day: a replayed file or request changes nothing
    op.create_index("uq_churn_events_customer_left_on", "churn_events",
                    ["customer_ref", "left_on"], unique=True)
    # plain ADD COLUMN (no table rebuild on SQLite: dropping `predictions` would cascade to
    # the tasks, disputes and decisions that reference it)
    op.add_column("predictions", sa.Column("arm", sa.String(8), nullable=True))
    op.add_column("predictions", sa.Column("targeting", sa.String(8), nullable=False,
                                           server_default="risk"))
    op.add_column("predictions", sa.Column("uplift", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("predictions", "uplift")
    op.drop_column("predictions", "targeting")
    op.drop_column("predictions", "arm")
    op.drop_index("uq_churn_events_customer_left_on", table_name="churn_events")
    op.drop_table("churn_events")
