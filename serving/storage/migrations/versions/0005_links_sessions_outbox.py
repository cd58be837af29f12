"""Issue 15: customer contact addresses (personal data, apart from the features), access
links kept by hash (used once, expiring, revocable), server-side sessions, and the
outbox of messages to customers.
"""

import sqlalchemy as sa
from alembic import op

from serving.storage.tables import UTCDateTime

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "customer_contacts",
        sa.Column("customer_ref", sa.String(64),
                  sa.ForeignKey("customers.customer_ref", ondelete="CASCADE",
                                name="fk_customer_contacts_customer_ref_customers"),
                  primary_key=True),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(120), nullable=False),
    )
    op.create_table(
        "access_links",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("customer_ref", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("issued_by", sa.String(120), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_access_links_customer_ref", "access_links", ["customer_ref"])
    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=True),
        sa.Column("role", sa.String(16), nullable=True),
        sa.Column("customer_ref", sa.String(64), nullable=True),
        sa.Column("link_id", sa.String(36), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_auth_sessions_user_id", "auth_sessions", ["user_id"])
    op.create_index("ix_auth_sessions_customer_ref", "auth_sessions", ["customer_ref"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("customer_ref", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("address", sa.String(320), nullable=True),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("link_id", sa.String(36), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_outbox_customer_ref", "outbox", ["customer_ref"])
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("auth_sessions")
    op.drop_table("access_links")
    op.drop_table("customer_contacts")
