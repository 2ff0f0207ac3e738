"""Credit exposure per region and account manager, counted by each check of all customers and
every hour, for the home pages (issue 15 point 7: the company-wide credit charts and an account
manager's "at 80% or overdue" counted a million balances and open charges per view); the
sales of one product kind in one month, which a consumption bar opens; the consumption rollups
summed per account manager, which the home pages' trends read (700,000 rollup rows a year at 1M).

Revision ID: h29_0020
Revises: h28_0019
"""

import sqlalchemy as sa
from alembic import op

revision = "h29_0020"
down_revision = "h28_0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "credit_exposure",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("account_manager_id", sa.Integer(), nullable=False),
        sa.Column("measure", sa.String(20), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("built_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint(
            "account_manager_id", "region_id", "measure", name="uq_credit_exposure_key"
        ),
    )
    op.create_index("ix_credit_exposure_region", "credit_exposure", ["region_id"])
    # a home page's consumption bar opens the sales of one product kind in one month
    op.create_index("ix_sales_records_kind_sold", "sales_records", ["product_kind", "sold_on"])
    op.create_table(
        "consumption_by_manager",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("account_manager_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_consumption_by_manager_month_kind", "consumption_by_manager", ["month", "kind"]
    )
    op.create_index(
        "ix_consumption_by_manager_manager_month",
        "consumption_by_manager",
        ["account_manager_id", "month"],
    )
    op.create_index(
        "ix_consumption_by_manager_region_month", "consumption_by_manager", ["region_id", "month"]
    )
    # filled from the rollups already there
    op.execute(
        "INSERT INTO consumption_by_manager "
        "(month, region_id, account_manager_id, kind, amount, uses, customers) "
        "SELECT month, region_id, account_manager_id, kind, sum(amount), sum(uses), "
        "sum(customers) FROM consumption_rollups "
        "GROUP BY month, region_id, account_manager_id, kind"
    )


def downgrade():
    op.drop_table("consumption_by_manager")
    op.drop_index("ix_sales_records_kind_sold", table_name="sales_records")
    op.drop_index("ix_credit_exposure_region", table_name="credit_exposure")
    op.drop_table("credit_exposure")
