"""Consumption per customer and month, and its rollups (issue 15 point 1, RULES R7).

Revision ID: h23_0016
Revises: h15_0015
"""

import sqlalchemy as sa
from alembic import op

revision = "h23_0016"
down_revision = "h15_0015"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(14, 2)


def upgrade() -> None:
    op.create_table(
        "consumption_months",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client_id", sa.Integer(), sa.ForeignKey(
            "clients.id", name="fk_consumption_months_client_id_clients"), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.UniqueConstraint("client_id", "month", "kind", name="uq_consumption_months_key"),
    )
    op.create_index("ix_consumption_months_month_client", "consumption_months",
                    ["month", "client_id"])
    op.create_table(
        "consumption_rollups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("account_manager_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(length=1), nullable=False),
        sa.Column("weight", sa.String(length=20), nullable=False),
        sa.Column("nature", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("built_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_consumption_rollups_month_kind", "consumption_rollups",
                    ["month", "kind"])
    op.create_index("ix_consumption_rollups_manager_month", "consumption_rollups",
                    ["account_manager_id", "month"])
    op.create_index("ix_consumption_rollups_region_month", "consumption_rollups",
                    ["region_id", "month"])


def downgrade() -> None:
    op.drop_table("consumption_rollups")
    op.drop_table("consumption_months")
