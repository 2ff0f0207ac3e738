"""Credit exposure per region and account manager, counted by each check of all customers and
every hour, for the home pages (issue 15 point 7: the company-wide credit charts and an account
manager's "at 80% or overdue" counted a million balances and open charges per view); the
sales of one product kind in one month, which a consumption bar opens.

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


def downgrade():
    op.drop_index("ix_sales_records_kind_sold", table_name="sales_records")
    op.drop_index("ix_credit_exposure_region", table_name="credit_exposure")
    op.drop_table("credit_exposure")
