"""scale: indexes for every scope, sort and level filter of the customer list; trigram search

Revision ID: 0009_scale
Revises: 0002_notifications
Create Date: 2026-11-25 16:15:00

The customer list always reads live rows (deleted_at IS NULL) in one of three scopes: all
(sales and general manager, finance, ...), one account manager (owner_id) or one region
(region_id). Each index below is partial on live rows and ends with the primary key, so that
the list's "WHERE <scope> ORDER BY <column>, id LIMIT n OFFSET m" and its capped count are
index-only scans (crm/admin/base.py BoundedListMixin). On PostgreSQL, trigram indexes serve
the list's substring search on names, codes and phone numbers.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009_scale"
down_revision = "0002_notifications"
branch_labels = None
depends_on = None

SCOPES = {"all": [], "owner": ["owner_id"], "region": ["region_id"]}
# sort column(s) of the list -> index columns after the scope; "level_created" is the level
# filter under the default sort (newest first).
SORTS = {
    "created": ["created_at", "id"],
    "name": ["name", "id"],
    "code": ["code", "id"],
    "level": ["level", "id"],
    "level_created": ["level", "created_at", "id"],
}
SEARCHED = ("name", "short_name", "code", "phone", "mobile")
LIVE = sa.text("deleted_at IS NULL")


def _btree_indexes():
    for scope, prefix in SCOPES.items():
        for sort, columns in SORTS.items():
            yield f"ix_clients_live_{scope}_{sort}", [*prefix, *columns]


def upgrade():
    for name, columns in _btree_indexes():
        op.create_index(name, "clients", columns, postgresql_where=LIVE, sqlite_where=LIVE)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for column in SEARCHED:
            op.execute(f"CREATE INDEX ix_clients_trgm_{column} ON clients "
                       f"USING gin ({column} gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for column in SEARCHED:
            op.execute(f"DROP INDEX IF EXISTS ix_clients_trgm_{column}")
    for name, _columns in _btree_indexes():
        op.drop_index(name, table_name="clients")
