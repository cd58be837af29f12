"""Issue 15: who opened a dispute (the customer through their session, or an agent for a
customer who phoned: an assisted action), so the customer sees it.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("disputes") as batch:
        batch.add_column(sa.Column("opened_by", sa.String(120), nullable=True))
        batch.add_column(sa.Column("assisted", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("disputes") as batch:
        batch.drop_column("assisted")
        batch.drop_column("opened_by")
