"""The served contract on every receipt (`predictions.contract_version`, the short digest
of the features' contract the model was served under; null for older receipts), and a
partial index over withdrawn (overturned) receipts: every scoring path reads them, so a
new score on exactly an overturned receipt's values stays off the risk list.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    # a plain ALTER TABLE ... ADD COLUMN on both databases: no table rewrite
    op.add_column("predictions", sa.Column("contract_version", sa.String(16), nullable=True))
    op.create_index("ix_predictions_withdrawn", "predictions", ["customer_ref"],
                    sqlite_where=sa.text("withdrawn"), postgresql_where=sa.text("withdrawn"))


def downgrade() -> None:
    op.drop_index("ix_predictions_withdrawn", table_name="predictions")
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("contract_version")
