"""Notices store where they lead as an endpoint and an id (issue 14 point 6, issue 18 point 4).

The old `link` column (a URL path) stays, for the rows written before: the screens and the
delivery still follow it when a row has no endpoint.

Revision ID: h15_0015
Revises: h17_0015
"""

import sqlalchemy as sa
from alembic import op

revision = "h15_0015"
down_revision = "h17_0015"
branch_labels = None
depends_on = None

TABLES = ("notifications", "outbox_mail", "outbox_robot_items")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("link_endpoint", sa.String(length=100), nullable=True))
            batch.add_column(sa.Column("link_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("link_id")
            batch.drop_column("link_endpoint")
