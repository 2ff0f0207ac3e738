"""check run recovery: a lock for the live run of all customers, a resume cursor, the summary so
far, the notices counted across attempts, the claim of the worker running it and its beat

Revision ID: h3_0013
Revises: h7_0013
Create Date: 2026-11-30 14:30:00

Runs already queued or running are left as they are (no lock): they finish or fail as before.
"""
import sqlalchemy as sa
from alembic import op

revision = "h3_0013"
down_revision = "h7_0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("credit_check_runs") as batch:
        batch.add_column(sa.Column("live_lock", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("next_client_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("partial", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("notified", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("claim", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
        batch.create_unique_constraint("uq_credit_check_runs_live_lock", ["live_lock"])


def downgrade():
    with op.batch_alter_table("credit_check_runs") as batch:
        batch.drop_constraint("uq_credit_check_runs_live_lock", type_="unique")
        for name in ("heartbeat_at", "claim", "attempts", "notified", "partial",
                     "next_client_id", "live_lock"):
            batch.drop_column(name)
