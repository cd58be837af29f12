"""Issue 18 (scrutiny): blind-first review judgements.

`review_judgements`: one row per dispute, the reviewer's own judgement recorded before the
model's score and explanation are shown (CHURN_BLIND_REVIEW): the risk they expect from the
customer's data and statement (low | medium | high) and whether they think the customer's
claim about their data is right (agree | disagree | unsure). Contest analytics compares it
with the model's band and the final decision. It goes with its dispute (ON DELETE CASCADE),
so the retention purge of a decided dispute takes it too.

The retention schedule itself (serving.purge) needs no column: it deletes by the dates the
records already carry (created_at, completed_at, decided_at, sent_at), and audits each
purge in the hash-chained log, whose rows are never deleted.
"""

import sqlalchemy as sa
from alembic import op

from serving.storage.tables import UTCDateTime

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.create_table(
        "review_judgements",
        sa.Column("dispute_id", sa.String(36), nullable=False),
        sa.Column("expected_risk", sa.String(8), nullable=False),
        sa.Column("claim_view", sa.String(8), nullable=False),
        sa.Column("judged_by", sa.String(120), nullable=False),
        sa.Column("judged_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["dispute_id"], ["disputes.id"], ondelete="CASCADE",
                                name=op.f("fk_review_judgements_dispute_id_disputes")),
        sa.PrimaryKeyConstraint("dispute_id", name=op.f("pk_review_judgements")),
    )


def downgrade() -> None:
    op.drop_table("review_judgements")
