"""Planned revisits of a customer (R14) and the record of each one made."""

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.clients.models import Client
from crm.extensions import db
from crm.timeutil import utcnow


class Revisit(db.Model):
    __tablename__ = "revisits"
    __audited__ = True
    __label__ = _l("Revisit")
    # The customer's people and customer service (who keeps revisits for every customer).
    __scope__ = "revisits"
    __scope_area__ = "revisits"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    due_date: Mapped[date]
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open, done
    done_on: Mapped[date | None]
    way: Mapped[str | None] = mapped_column(String(20))
    person_met: Mapped[str | None] = mapped_column(String(100))
    satisfaction: Mapped[str | None] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    client: Mapped[Client] = relationship(lazy="joined")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id], lazy="joined")

    __table_args__ = (
        # One planned revisit per customer and day, so re-planning inserts nothing twice.
        UniqueConstraint("client_id", "due_date", name="uq_revisits_client_due"),
        Index("ix_revisits_due_status", "due_date", "status"),
    )

    def __str__(self) -> str:
        return f"{self.due_date}"
