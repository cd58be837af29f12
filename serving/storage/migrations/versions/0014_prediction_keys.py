"""`Idempotency-Key` on POST /v1/predictions: each receipt of a keyed request carries the
key scoped to its caller (`request_key`, a sha256), the digest of the request's body
(`request_hash`) and its place in the request (`request_item`). A unique partial index
over the keyed receipts makes a second write of the same request impossible, and finds a
repeat's receipts; receipts written without a key (all of them until now) stay out of it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    # plain ADD COLUMN (no table rebuild on SQLite: dropping `predictions` would cascade to
    # the tasks, disputes and decisions that reference it)
    op.add_column("predictions", sa.Column("request_key", sa.String(64), nullable=True))
    op.add_column("predictions", sa.Column("request_hash", sa.String(64), nullable=True))
    op.add_column("predictions", sa.Column("request_item", sa.Integer(), nullable=True))
    op.create_index("uq_predictions_request", "predictions", ["request_key", "request_item"],
                    unique=True, sqlite_where=sa.text("request_key IS NOT NULL"),
                    postgresql_where=sa.text("request_key IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("uq_predictions_request", table_name="predictions")
    op.drop_column("predictions", "request_item")
    op.drop_column("predictions", "request_hash")
    op.drop_column("predictions", "request_key")
