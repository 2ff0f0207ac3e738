"""First contacts waiting for registration (R12) and invitation claims of the divisions (R13)."""

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import Region, User
from crm.clients.models import Client
from crm.extensions import db
from crm.timeutil import utcnow


class FirstContact(db.Model):
    """接触登记: a first contact noted at once; the full card must follow within the
    registration days (R12). Before a card exists the row belongs to its owner, so it is
    scoped by owner and region (policy "owner" in crm.access)."""

    __tablename__ = "first_contacts"
    __audited__ = True
    __label__ = _l("First contact")
    __scope__ = "owner"
    __scope_area__ = "intake"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(30))
    mobile: Mapped[str | None] = mapped_column(String(11))
    contact_date: Mapped[date] = mapped_column(index=True)
    notes: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    registered_on: Mapped[date | None]
    registered_late: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner: Mapped[User] = relationship(foreign_keys=[owner_id], lazy="joined")
    region: Mapped[Region | None] = relationship(lazy="joined")
    client: Mapped[Client | None] = relationship()

    def __str__(self) -> str:
        return f"{self.name} ({self.contact_date})"


class InvitationClaim(db.Model):
    """One division's claim to invite a customer; it counts once confirmed (R13)."""

    __tablename__ = "invitation_claims"
    __audited__ = True
    __label__ = _l("Invitation claim")
    __scope__ = "basic"
    __scope_area__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    division: Mapped[str] = mapped_column(String(20))
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # pending → confirmed (counts) or lost (another division's confirmation ranks first)
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    confirmed_at: Mapped[datetime | None]
    count_day: Mapped[date | None]
    late: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str | None] = mapped_column(Text)

    client: Mapped[Client] = relationship(lazy="joined")
    claimed_by: Mapped[User | None] = relationship(lazy="joined")

    __table_args__ = (Index("ix_invitation_claims_client_status", "client_id", "status"),)

    def __str__(self) -> str:
        return f"{self.division} #{self.id}"
