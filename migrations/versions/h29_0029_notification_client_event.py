"""A customer's notices by event: the card daily task asks, for each card in a reminder window
(80,000 a day at a million customers), whether its reminder was raised before — on the
card's own columns, before any customer row is read; the redaction of a destroyed customer's
trail finds its notices by customer too. IF NOT EXISTS: on the shared 1M benchmark database the
same index was built by hand (CONCURRENTLY) before this migration ran there.

Revision ID: h29_0029
Revises: h29_0021
"""

from alembic import op

revision = "h29_0029"
down_revision = "h29_0021"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_notifications_client_event",
        "notifications",
        ["client_id", "event_key"],
        if_not_exists=True,
    )


def downgrade():
    op.drop_index("ix_notifications_client_event", table_name="notifications")
