"""task locks: periodic tasks cannot overlap (issue 13 point 2)

Revision ID: h17_0015
Revises: h11_0016
Create Date: 2026-11-30 15:30:00

One row a periodic task's name, held by one run at a time (crm.tasks.locks.locked_task).
"""
import sqlalchemy as sa
from alembic import op

revision = "h17_0015"
down_revision = "h11_0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "task_locks",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=True),
        sa.Column("acquired_at", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_task_locks")),
    )


def downgrade():
    op.drop_table("task_locks")
