"""card uses record the benefit: list price, discount rate, benefit and amount paid (R15)

Revision ID: h11_0014
Revises: h9_0014
Create Date: 2026-11-30 15:10:00

card_uses.amount was the amount entered, with no benefit applied: it becomes list_price, and
the uses recorded before this revision carry no benefit (paid = list price, rate empty).
"""
import sqlalchemy as sa
from alembic import op

revision = "h11_0014"
down_revision = "h9_0014"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=14, scale=2)


def upgrade():
    with op.batch_alter_table("card_uses") as batch:
        batch.alter_column("amount", new_column_name="list_price", existing_type=MONEY,
                           existing_nullable=False)
        batch.add_column(sa.Column("discount_rate", sa.Numeric(precision=4, scale=3),
                                   nullable=True))
        batch.add_column(sa.Column("benefit", MONEY, nullable=False, server_default="0"))
        batch.add_column(sa.Column("paid", MONEY, nullable=False, server_default="0"))
    uses = sa.table("card_uses", sa.column("list_price", MONEY), sa.column("paid", MONEY))
    op.execute(uses.update().values(paid=uses.c.list_price))
    with op.batch_alter_table("card_uses") as batch:
        batch.alter_column("benefit", server_default=None, existing_type=MONEY)
        batch.alter_column("paid", server_default=None, existing_type=MONEY)


def downgrade():
    with op.batch_alter_table("card_uses") as batch:
        batch.drop_column("paid")
        batch.drop_column("benefit")
        batch.drop_column("discount_rate")
        batch.alter_column("list_price", new_column_name="amount", existing_type=MONEY,
                           existing_nullable=False)
