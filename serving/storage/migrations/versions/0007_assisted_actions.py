"""Issue 15: who opened a dispute (the customer through their session, or an agent for a
customer who phoned: an assisted action), so the customer sees it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    # plain ADD COLUMN (no table rebuild on SQLite: dropping the old table would cascade
    # to the decisions that reference it)
    op.add_column("disputes", sa.Column("opened_by", sa.String(120), nullable=True))
    op.add_column("disputes", sa.Column("assisted", sa.Boolean(), nullable=False,
                                        server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("disputes", "assisted")
    op.drop_column("disputes", "opened_by")
