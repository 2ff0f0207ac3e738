"""sign-in and sessions: a session token per user, failures counted per name and address

Revision ID: h2_0013
Revises: 0012_ledger_order
Create Date: 2026-11-30 14:30:00

users.session_token is part of every session cookie (User.get_id); replacing it ends every
session of the user (sign-out, a new password, disabling). Existing users get a random token
each, so the cookies issued before this revision (which named the id alone) stop working.

The failure count and the lock move from users (one per account: anyone could lock anyone
out) to login_failures, one row per (user name, client address), for unknown names too.
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "h2_0013"
down_revision = "0012_ledger_order"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_token", sa.String(length=64), nullable=True))
    users = sa.table("users", sa.column("id", sa.Integer),
                     sa.column("session_token", sa.String))
    conn = op.get_bind()
    for (user_id,) in conn.execute(sa.select(users.c.id)).all():
        conn.execute(users.update().where(users.c.id == user_id)
                     .values(session_token=secrets.token_urlsafe(32)))
    with op.batch_alter_table("users") as batch:
        batch.alter_column("session_token", existing_type=sa.String(length=64), nullable=False)
        batch.drop_column("failed_logins")
        batch.drop_column("locked_until")

    op.create_table(
        "login_failures",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("username", "address", name=op.f("pk_login_failures")),
    )
    op.create_index(op.f("ix_login_failures_last_failure_at"), "login_failures",
                    ["last_failure_at"])


def downgrade():
    op.drop_index(op.f("ix_login_failures_last_failure_at"), table_name="login_failures")
    op.drop_table("login_failures")
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("locked_until", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.drop_column("session_token")
