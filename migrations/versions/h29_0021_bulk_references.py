"""The foreign keys of the tables a go-live backlog writes hundreds of thousands of rows into
(notices, credit crossings) stay declared in the models but are not enforced by PostgreSQL:
each row's check locked the customer's row FOR KEY SHARE, 70% of the inbox insert's time
(crm.kernel.bulk_reference says why). SQLite keeps them: its check costs nothing there.

Revision ID: h29_0021
Revises: h29_0020
"""

from alembic import op

revision = "h29_0021"
down_revision = "h29_0020"
branch_labels = None
depends_on = None

CONSTRAINTS = [
    ("notifications", "fk_notifications_client_id_clients", "client_id", "clients"),
    ("notifications", "fk_notifications_recipient_id_users", "recipient_id", "users"),
    ("credit_crossings", "fk_credit_crossings_client_id_clients", "client_id", "clients"),
]


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, name, _column, _target in CONSTRAINTS:
        op.drop_constraint(name, table, type_="foreignkey")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, name, column, target in CONSTRAINTS:
        op.create_foreign_key(name, table, target, [column], ["id"])
