"""The monthly watch list and the quarterly reclassification proposals (issue 15, R7).

Revision ID: h23_0017
Revises: h23_0016
"""

import sqlalchemy as sa
from alembic import op

revision = "h23_0017"
down_revision = "h23_0016"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(14, 2)


def upgrade() -> None:
    op.create_table(
        "watch_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("client_id", sa.Integer(), sa.ForeignKey(
            "clients.id", name="fk_watch_entries_client_id_clients"), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey(
            "users.id", name="fk_watch_entries_owner_id_users"), nullable=True),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey(
            "regions.id", name="fk_watch_entries_region_id_regions"), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("action_taken", sa.Text(), nullable=True),
        sa.Column("handled_at", sa.DateTime(), nullable=True),
        sa.Column("handled_by_id", sa.Integer(), sa.ForeignKey(
            "users.id", name="fk_watch_entries_handled_by_id_users"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("month", "client_id", name="uq_watch_entries_month_client"),
    )
    op.create_index("ix_watch_entries_client_id", "watch_entries", ["client_id"])
    op.create_index("ix_watch_entries_owner_month", "watch_entries", ["owner_id", "month"])
    op.create_index("ix_watch_entries_region_month", "watch_entries", ["region_id", "month"])
    op.create_table(
        "reclass_proposals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("quarter", sa.String(length=6), nullable=False),
        sa.Column("client_id", sa.Integer(), sa.ForeignKey(
            "clients.id", name="fk_reclass_proposals_client_id_clients"), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("previous_amount", MONEY, nullable=False),
        sa.Column("year_ago_amount", MONEY, nullable=False),
        sa.Column("level_from", sa.String(length=1), nullable=False),
        sa.Column("level_to", sa.String(length=1), nullable=False),
        sa.Column("weight_from", sa.String(length=20), nullable=False),
        sa.Column("weight_to", sa.String(length=20), nullable=False),
        sa.Column("stage_from", sa.String(length=20), nullable=False),
        sa.Column("stage_to", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), sa.ForeignKey(
            "users.id", name="fk_reclass_proposals_decided_by_id_users"), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("quarter", "client_id", name="uq_reclass_proposals_quarter_client"),
    )
    op.create_index("ix_reclass_proposals_client_id", "reclass_proposals", ["client_id"])
    op.create_index("ix_reclass_proposals_status_quarter", "reclass_proposals",
                    ["status", "quarter"])


def downgrade() -> None:
    op.drop_table("reclass_proposals")
    op.drop_table("watch_entries")
