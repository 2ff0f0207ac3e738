"""Complaints with their first responder and hand-overs, discounts, withdrawals (R3 cat. 4, R14)."""

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.clients.models import Client
from crm.extensions import db
from crm.kernel import Approval, Money, RequestedBy, SoftDeleted
from crm.timeutil import utcnow

CHANNELS = [
    ("phone", _l("Phone")),
    ("visit", _l("In person")),
    ("letter", _l("Letter")),
    ("email", _l("E-mail")),
    ("walk_in", _l("Walk-in")),
    ("other", _l("Other")),
]
CATEGORIES = [
    ("service", _l("Service")),
    ("product", _l("Product")),
    ("billing", _l("Billing")),
    ("staff", _l("Staff conduct")),
    ("facility", _l("Facilities")),
    ("other", _l("Other")),
]
LIABILITY = [
    ("ours", _l("Our fault")),
    ("customer", _l("Customer's side")),
    ("third_party", _l("Third party")),
    ("shared", _l("Shared")),
    ("none", _l("No fault found")),
]
OPEN, HANDLING, SOLVED = "open", "handling", "solved"
STATUSES = [
    (OPEN, lazy_pgettext("complaint status", "Open")),
    (HANDLING, _l("Being handled")),
    (SOLVED, _l("Solved")),
]
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
DISCOUNT_STATUSES = [
    (PENDING, _l("Awaiting approval")),
    (APPROVED, _l("Approved")),
    (REJECTED, _l("Rejected")),
]


class ComplaintScoped:
    # Customer service takes every customer's complaints; the others their scope.
    __scope__ = "complaints"
    __scope_area__ = "complaints"


class Complaint(ComplaintScoped, SoftDeleted, db.Model):
    __tablename__ = "complaints"
    __audited__ = True
    __label__ = _l("Complaint")

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    channel: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    # 首问负责人: who took it first (never changes) and who owns it now (hand-overs move it).
    first_responder_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    responder_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    liability: Mapped[str | None] = mapped_column(String(20))  # 责任鉴定
    liability_notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default=OPEN)
    resolution: Mapped[str | None] = mapped_column(Text)
    satisfaction: Mapped[str | None] = mapped_column(String(20))
    solved_at: Mapped[datetime | None]

    client: Mapped[Client] = relationship(lazy="joined")
    first_responder: Mapped[User | None] = relationship(foreign_keys=[first_responder_id])
    responder: Mapped[User | None] = relationship(foreign_keys=[responder_id], lazy="joined")

    __table_args__ = (
        Index("ix_complaints_status_received", "status", "received_at"),
        Index("ix_complaints_category_received", "category", "received_at"),
        Index("ix_complaints_received", "received_at"),
    )

    def __str__(self) -> str:
        return f"#{self.id} {self.client.name if self.client else ''}"


class ComplaintHandover(ComplaintScoped, db.Model):
    __tablename__ = "complaint_handovers"
    __audited__ = True
    __label__ = _l("Complaint hand-over")

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    from_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    to_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text)

    from_user: Mapped[User | None] = relationship(foreign_keys=[from_user_id], lazy="joined")
    to_user: Mapped[User] = relationship(foreign_keys=[to_user_id], lazy="joined")


class Discount(ComplaintScoped, RequestedBy, Approval, db.Model):
    """折价: counts only once the sales manager (or general manager) has approved it."""

    __tablename__ = "discounts"
    __audited__ = True
    __label__ = _l("Discount")
    __approval_status_index__ = False  # ix_discounts_status_requested serves it
    __approval_lazy__ = "select"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(Text)
    # The decider's note: the approval's `comment`, in the column the table has always had.
    comment: Mapped[str | None] = mapped_column("decision_note", Text)

    complaint: Mapped[Complaint] = relationship()
    client: Mapped[Client] = relationship(lazy="joined")

    __table_args__ = (
        Index("ix_discounts_status_requested", "status", "requested_at"),
        Index("ix_discounts_requested", "requested_at"),
    )


class Withdrawal(ComplaintScoped, db.Model):
    """退会: the member leaves, the reason is kept, the archive stays (stage becomes former)."""

    __tablename__ = "withdrawals"
    __audited__ = True
    __label__ = _l("Withdrawal")

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    withdrawn_on: Mapped[date] = mapped_column(index=True)
    reason: Mapped[str] = mapped_column(Text)
    previous_stage: Mapped[str] = mapped_column(String(20))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    client: Mapped[Client] = relationship(lazy="joined")
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
