"""on-site checks on credit proposals (R11: a customer's own request for more needs one)

Revision ID: h11_0015
Revises: h11_0014
Create Date: 2026-11-30 15:20:00

A proposal the customer asked for itself has origin "customer_request" (credit_reviews.origin
is already a free String(20)); its checks go in credit_onsite_checks.
"""
import sqlalchemy as sa
from alembic import op

revision = "h11_0015"
down_revision = "h11_0014"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "credit_onsite_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("checked_by", sa.String(length=200), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"]),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["review_id"], ["credit_reviews.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_credit_onsite_checks_client_id", "credit_onsite_checks", ["client_id"])
    op.create_index("ix_credit_onsite_checks_review_id", "credit_onsite_checks", ["review_id"])


def downgrade():
    op.drop_index("ix_credit_onsite_checks_review_id", table_name="credit_onsite_checks")
    op.drop_index("ix_credit_onsite_checks_client_id", table_name="credit_onsite_checks")
    op.drop_table("credit_onsite_checks")
