from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.extensions import db
from crm.kernel import bulk_reference
from crm.timeutil import utcnow


class Notification(db.Model):
    """An in-app message. `event_key` names the event (e.g. credit:80:client 7:crossing 3), so a
    unique (recipient, event_key) makes every event notify each person once, however often the
    code that raises it runs."""

    __tablename__ = "notifications"
    __scope__ = "recipient"
    __label__ = _l("Notification")

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(bulk_reference("users.id"))
    event_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(300))  # rows written before link_endpoint
    # Where the notice leads: a screen's endpoint and the record's id (crm.admin.links builds
    # the URL; the domain knows no URL).
    link_endpoint: Mapped[str | None] = mapped_column(String(100))
    link_id: Mapped[int | None]
    client_id: Mapped[int | None] = mapped_column(bulk_reference("clients.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    recipient: Mapped[User] = relationship()

    __table_args__ = (
        UniqueConstraint("recipient_id", "event_key", name="uq_notifications_recipient_event"),
        Index("ix_notifications_inbox", "recipient_id", "read_at", "created_at"),
        # A customer's notices: "was this event raised" for a sweep that meets the same events
        # day after day (crm.cards), and the redaction of a destroyed customer's trail.
        Index("ix_notifications_client_event", "client_id", "event_key"),
    )


class OutboxMail(db.Model):
    """A mail to send, written in the transaction that raised the event; sent at most once by
    the outbox sweep (crm.notifications.delivery). Status: pending → sending → sent; a failed
    try goes back to pending with `next_attempt_at` (exponential backoff) until the last,
    which leaves it `failed`; a claim whose worker died leaves it `unknown` (sent or not, only
    a person can tell) — both wait in the administrator's list for a retry."""

    __tablename__ = "outbox_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_key: Mapped[str] = mapped_column(String(200))
    to_address: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(String(50))
    link: Mapped[str | None] = mapped_column(String(300))
    link_endpoint: Mapped[str | None] = mapped_column(String(100))
    link_id: Mapped[int | None]
    next_attempt_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("event_key", "to_address", name="uq_outbox_mail_event_address"),
        Index("ix_outbox_mail_status", "status", "id"),
    )


class NoticeRobot(db.Model):
    """A WeCom (企业微信) or DingTalk (钉钉) group robot and the notice kinds it receives. The
    webhook URL (its key is a credential) and DingTalk's signing secret are stored encrypted."""

    __tablename__ = "notice_robots"
    __scope_area__ = "notice_robots"  # who may create and edit them (crm.access.ACTIONS)
    __audited__ = True
    __sensitive__ = frozenset({"webhook_token", "secret_token"})
    __label__ = _l("Group robot")

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    platform: Mapped[str] = mapped_column(String(20))  # wecom | dingtalk
    webhook_token: Mapped[str] = mapped_column(Text)
    secret_token: Mapped[str | None] = mapped_column(Text)
    kinds: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __str__(self) -> str:
        return self.name


class RobotItem(db.Model):
    """One notice for one robot: unique (robot, event), so a notice reaches a group once. Items
    are gathered into RobotMessages (`message_id`) by the outbox sweep."""

    __tablename__ = "outbox_robot_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    robot_id: Mapped[int] = mapped_column(ForeignKey("notice_robots.id"))
    event_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(200))
    link: Mapped[str | None] = mapped_column(String(300))
    link_endpoint: Mapped[str | None] = mapped_column(String(100))
    link_id: Mapped[int | None]
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_robot_messages.id"))

    __table_args__ = (
        UniqueConstraint("robot_id", "event_key", name="uq_outbox_robot_items_robot_event"),
        Index("ix_outbox_robot_items_open", "robot_id", "message_id", "id"),
    )


class RobotMessage(db.Model):
    """One markdown message to a robot listing one or more items; its content is fixed when it
    is made, so a retry sends the same text. Same statuses as OutboxMail."""

    __tablename__ = "outbox_robot_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    robot_id: Mapped[int] = mapped_column(ForeignKey("notice_robots.id"))
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    items: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    robot: Mapped[NoticeRobot] = relationship()

    __table_args__ = (
        Index("ix_outbox_robot_messages_status", "status", "id"),
        Index("ix_outbox_robot_messages_robot_sent", "robot_id", "sent_at"),
    )


class NoticePreference(db.Model):
    """How a person wants one kind of notice: 'inbox' only, 'mail' (the default) or in the
    daily 'digest'. Every notice reaches the inbox whatever the choice."""

    __tablename__ = "notice_preferences"
    __audited__ = True
    __label__ = _l("Notice preference")

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(50))
    mode: Mapped[str] = mapped_column(String(10))

    __table_args__ = (UniqueConstraint("user_id", "kind", name="uq_notice_preferences_user_kind"),)
