"""notice channels: mail retries, group robots (WeCom, DingTalk), per-person preferences

Revision ID: h7_0013
Revises: h2_0013
Create Date: 2026-11-30 14:20:00

outbox_mail gains the notice's kind and link (the mail's link to the record) and the time of
its next try (exponential backoff). notice_robots are the group robots a manager sets up;
outbox_robot_items hold one row per notice and robot (unique), gathered into
outbox_robot_messages, the markdown messages actually sent. notice_preferences say, per person
and kind, inbox only, mail or the daily digest.
"""
from alembic import op
import sqlalchemy as sa

revision = "h7_0013"
down_revision = "h2_0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_mail", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("link", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(), nullable=True))

    op.create_table(
        "notice_robots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("webhook_token", sa.Text(), nullable=False),
        sa.Column("secret_token", sa.Text(), nullable=True),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_robots")),
    )
    op.create_table(
        "outbox_robot_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("robot_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["robot_id"], ["notice_robots.id"],
                                name=op.f("fk_outbox_robot_messages_robot_id_notice_robots")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_robot_messages")),
    )
    with op.batch_alter_table("outbox_robot_messages", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_robot_messages_status", ["status", "id"], unique=False)
        batch_op.create_index("ix_outbox_robot_messages_robot_sent", ["robot_id", "sent_at"],
                              unique=False)
    op.create_table(
        "outbox_robot_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("robot_id", sa.Integer(), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("link", sa.String(length=300), nullable=True),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"],
                                name=op.f("fk_outbox_robot_items_client_id_clients")),
        sa.ForeignKeyConstraint(["message_id"], ["outbox_robot_messages.id"],
                                name=op.f("fk_outbox_robot_items_message_id_outbox_robot_messages")),
        sa.ForeignKeyConstraint(["robot_id"], ["notice_robots.id"],
                                name=op.f("fk_outbox_robot_items_robot_id_notice_robots")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_robot_items")),
        sa.UniqueConstraint("robot_id", "event_key", name="uq_outbox_robot_items_robot_event"),
    )
    with op.batch_alter_table("outbox_robot_items", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_robot_items_open", ["robot_id", "message_id", "id"],
                              unique=False)
    op.create_table(
        "notice_preferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_notice_preferences_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_preferences")),
        sa.UniqueConstraint("user_id", "kind", name="uq_notice_preferences_user_kind"),
    )


def downgrade():
    op.drop_table("notice_preferences")
    with op.batch_alter_table("outbox_robot_items", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_robot_items_open")
    op.drop_table("outbox_robot_items")
    with op.batch_alter_table("outbox_robot_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_robot_messages_robot_sent")
        batch_op.drop_index("ix_outbox_robot_messages_status")
    op.drop_table("outbox_robot_messages")
    op.drop_table("notice_robots")
    with op.batch_alter_table("outbox_mail", schema=None) as batch_op:
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("link")
        batch_op.drop_column("kind")
