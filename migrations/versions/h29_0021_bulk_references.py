"""The foreign keys of the tables written hundreds of thousands of rows at a time (a go-live
backlog's notices and credit crossings, a quarter's reclassification proposals) stay declared
in the models but are not enforced by PostgreSQL: each row's check locked the customer's row
FOR KEY SHARE — 70% of the inbox insert's time, 29 of the quarterly analysis' 66 s at 1M
(crm.kernel.bulk_reference says why). SQLite keeps them: its check costs nothing there.
And the quarterly analysis reads every customer's months from an index that carries the
amount (24.9 s of random reads of consumption_months before).

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
    ("reclass_proposals", "fk_reclass_proposals_client_id_clients", "client_id", "clients"),
]


def upgrade():
    op.create_index(
        "ix_consumption_months_client_amount",
        "consumption_months",
        ["client_id", "month"],
        postgresql_include=["amount"],
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, name, _column, _target in CONSTRAINTS:
        op.drop_constraint(name, table, type_="foreignkey")


def downgrade():
    op.drop_index("ix_consumption_months_client_amount", table_name="consumption_months")
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, name, column, target in CONSTRAINTS:
        op.create_foreign_key(name, table, target, [column], ["id"])
