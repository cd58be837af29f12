"""erasures: the pseudonyms of erased customers, so that no later file brings them back;
ix_customers_flagged: the few restricted or objecting customers, found without a scan.
"""

import sqlalchemy as sa
from alembic import op

from serving.storage.tables import UTCDateTime

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "erasures",
        sa.Column("customer_ref", sa.String(64), primary_key=True),
        sa.Column("erased_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_customers_flagged", "customers", ["customer_ref"],
                    sqlite_where=sa.text("restricted OR objected"),
                    postgresql_where=sa.text("restricted OR objected"))


def downgrade() -> None:
    op.drop_index("ix_customers_flagged", table_name="customers")
    op.drop_table("erasures")
