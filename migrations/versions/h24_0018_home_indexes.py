"""Indexes behind the home pages' charts (issue 15): the collections of a month read the
ledger by (kind, entry_date); the largest exposures read the balances by amount.

Revision ID: h24_0018
Revises: h23_0017
"""

from alembic import op

revision = "h24_0018"
down_revision = "h23_0017"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_ledger_entries_kind_date", "ledger_entries", ["kind", "entry_date"])
    op.create_index("ix_credit_balances_outstanding", "credit_balances", ["outstanding"])


def downgrade():
    op.drop_index("ix_credit_balances_outstanding", table_name="credit_balances")
    op.drop_index("ix_ledger_entries_kind_date", table_name="ledger_entries")
