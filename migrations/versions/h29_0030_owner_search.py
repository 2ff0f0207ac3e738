"""An account manager's short search: the owner and the name's grams in one GIN index.

Revision ID: h29_0030
Revises: h29_0029

A search of one or two characters (crm/admin/search.py: `crm_short_grams(name) @> ARRAY[w]`,
migration 0011) by an account manager is narrowed to their customers by the scope
(`owner_id = me`). At a million customers the largest book holds 37,000 customers and a
common character some 47,000 names: PostgreSQL built a bitmap of each (owner, name, short
name) and ANDed them, 30–60 ms a statement for some 1,800 hits. With btree_gin, one GIN index
over (owner_id, grams) answers both conditions inside the index (the planner uses it for each
arm of the search's OR, the owner condition joining each arm), and only the hits reach the
bitmap. Partial on live rows, as the lists read; the statistics of the grams expression still
come from 0011's whole-table indexes. IF NOT EXISTS: the bench database got them by hand
(CREATE INDEX CONCURRENTLY) before this revision reached it.
"""

from alembic import op

revision = "h29_0030"
down_revision = "h29_0029"
branch_labels = None
depends_on = None

GRAMMED = ("name", "short_name")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    for column in GRAMMED:
        op.execute(
            f"CREATE INDEX IF NOT EXISTS ix_clients_owner_grams_{column} ON clients "
            f"USING gin (owner_id, crm_short_grams({column})) WHERE deleted_at IS NULL"
        )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in GRAMMED:
        op.execute(f"DROP INDEX IF EXISTS ix_clients_owner_grams_{column}")
