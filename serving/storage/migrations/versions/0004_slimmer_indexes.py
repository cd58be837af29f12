"""Slimmer indexes for the nightly batch: drop ix_customers_risk (the unfiltered risk list
merges the per-band pages of ix_customers_band_risk) and key ix_predictions_customer on
the customer alone (a customer's receipts are sorted when read). Every index keyed by
pseudonyms or scores takes random inserts; at a million customers these two cost the
batch about a fifth of its time.
"""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.drop_index("ix_customers_risk", table_name="customers")
    op.drop_index("ix_predictions_customer", table_name="predictions")
    op.create_index("ix_predictions_customer", "predictions", ["customer_ref"])


def downgrade() -> None:
    op.drop_index("ix_predictions_customer", table_name="predictions")
    op.create_index("ix_predictions_customer", "predictions", ["customer_ref", "created_at"])
    op.create_index("ix_customers_risk", "customers", ["latest_score", "customer_ref"])
