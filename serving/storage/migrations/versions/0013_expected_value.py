"""Issue 17, uplift targeting ranks the queue: on each receipt drawn into an arm under
`CHURN_TARGETING=uplift`, the customer's value used (`customer_value`: the schema's
`value_column`, the request's `customer_value`, or `CHURN_CUSTOMER_VALUE`) and the
expected retained value of a call (`expected_value` = uplift x value - contact cost); on
each retention task the same expected value, so that the agents' queue is sorted by it
(`sort=value`, the default under uplift targeting). Null under risk targeting.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    # plain ADD COLUMN (no table rebuild on SQLite: dropping `predictions` would cascade to
    # the tasks, disputes and decisions that reference it)
    op.add_column("predictions", sa.Column("customer_value", sa.Float(), nullable=True))
    op.add_column("predictions", sa.Column("expected_value", sa.Float(), nullable=True))
    op.add_column("retention_tasks", sa.Column("expected_value", sa.Float(), nullable=True))
    # the queue by expected value: open (or claimed) tasks, highest value first
    op.create_index("ix_retention_tasks_value", "retention_tasks",
                    ["status", "expected_value", "id"])


def downgrade() -> None:
    op.drop_index("ix_retention_tasks_value", table_name="retention_tasks")
    op.drop_column("retention_tasks", "expected_value")
    op.drop_column("predictions", "expected_value")
    op.drop_column("predictions", "customer_value")
