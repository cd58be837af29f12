"""Issue 18 (rights): rights requests as tracked cases (GDPR Arts. 15-21).

One row per request a customer makes (access, erasure, rectification outside a dispute,
restriction, objection), opened by the customer from their page or by staff for a customer
who phoned ("assisted"). Each has its one-month deadline (`due_at`), extensible once by two
further months with a reason told to the customer (Art. 12(3): `extended_due_at`,
`extension_reason`), a status, a handler and an outcome.

The row refers to the customer only by the keyed pseudonym and has no foreign key to
`customers`: an erasure removes the customer, and the request that asked for it must stay
(accountability: the compliance report counts requests answered within their deadline).
"""

import sqlalchemy as sa
from alembic import op

from serving.storage.tables import UTCDateTime

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.create_table(
        "rights_requests",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("customer_ref", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("extended_due_at", UTCDateTime(), nullable=True),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("handler", sa.String(120), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("opened_via", sa.String(16), nullable=False),
        sa.Column("opened_by", sa.String(120), nullable=False),
        sa.Column("details", sa.Text(), nullable=False, server_default=""),
        sa.Column("lang", sa.String(2), nullable=False, server_default="en"),
        sa.Column("carry_out_at", UTCDateTime(), nullable=True),
        sa.Column("related_id", sa.String(36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
    )
    op.create_index("ix_rights_requests_customer", "rights_requests",
                    ["customer_ref", "opened_at"])
    op.create_index("ix_rights_requests_status_due", "rights_requests",
                    ["status", "due_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_rights_requests_status_due", table_name="rights_requests")
    op.drop_index("ix_rights_requests_customer", table_name="rights_requests")
    op.drop_table("rights_requests")
