"""A batch run that dies half way is resumed, not scored again: `batch_runs` records each
run (the customer file's digest, the model version, `as_of`), its status and the rows of
the file its committed transactions wrote. Each batch commit adds its rows in the same
transaction; a rerun of the same run skips them (`serving.batch`). The partial unique
index keeps one unfinished run per identity and finds it.
"""

import sqlalchemy as sa
from alembic import op

from serving.storage.tables import UTCDateTime

revision = "0015"
down_revision = "0014"


def upgrade() -> None:
    op.create_table(
        "batch_runs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("run_key", sa.String(64), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("data_digest", sa.String(64), nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.String(50), nullable=False),
        sa.Column("as_of", UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempt", sa.String(36), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.BigInteger(), nullable=False),
        sa.Column("scored", sa.BigInteger(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_batch_runs"),
    )
    op.create_index("uq_batch_runs_running", "batch_runs", ["run_key"], unique=True,
                    sqlite_where=sa.text("status = 'running'"),
                    postgresql_where=sa.text("status = 'running'"))


def downgrade() -> None:
    op.drop_index("uq_batch_runs_running", table_name="batch_runs")
    op.drop_table("batch_runs")
