"""ledger order: a customer's entries newest first, the key breaking ties

Revision ID: 0012_ledger_order
Revises: 0011_search
Create Date: 2026-11-25 19:05:00

The card's credit section and the ledger list filtered by customer read a customer's entries
ordered by (entry_date, id) and take the first page. With (client_id, entry_date) alone the
database reads every entry of the customer and sorts them to find those rows; with the id in
the index it stops after the page. The new index covers the old one, which is dropped.
"""
from alembic import op

revision = "0012_ledger_order"
down_revision = "0011_search"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_ledger_entries_client_date_id", "ledger_entries",
                    ["client_id", "entry_date", "id"])
    op.drop_index("ix_ledger_entries_client_date", table_name="ledger_entries")


def downgrade():
    op.create_index("ix_ledger_entries_client_date", "ledger_entries",
                    ["client_id", "entry_date"])
    op.drop_index("ix_ledger_entries_client_date_id", table_name="ledger_entries")
