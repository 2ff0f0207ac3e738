"""Member cards (R15): types, the cards customers hold, every move of a card, every use."""

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.clients.models import Client
from crm.extensions import db
from crm.kernel import Money
from crm.timeutil import utcnow


class CardType(db.Model):
    """普通卡, 金卡, 白金卡 and any the company adds: benefits, fees and validity."""

    __tablename__ = "card_types"
    __audited__ = True
    __label__ = _l("Card type")

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    # The share of the price paid: 0.90 is 10% off (九折).
    discount_rate: Mapped[Decimal] = mapped_column(Numeric(4, 3), default=Decimal("1"))
    privileges: Mapped[str] = mapped_column(Text, default="")
    issue_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    renewal_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    replacement_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    validity_months: Mapped[int] = mapped_column(default=12)
    # Bumped whenever the benefits change, so each change notifies holders once.
    benefits_version: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)

    def __str__(self) -> str:
        return self.name


class MemberCard(db.Model):
    __tablename__ = "member_cards"
    __audited__ = True
    __label__ = _l("Member card")
    __scope__ = "cards"
    __scope_area__ = "cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    card_type_id: Mapped[int] = mapped_column(ForeignKey("card_types.id"))
    issue_date: Mapped[date]
    expiry_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(12), default="active")
    # Losses before this moment are the holder's (R15).
    lost_reported_at: Mapped[datetime | None]
    # The card this one replaced or renewed; the old number stays blocked for ever.
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("member_cards.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    client: Mapped[Client] = relationship(lazy="joined")
    card_type: Mapped[CardType] = relationship(lazy="joined")
    previous: Mapped["MemberCard | None"] = relationship(remote_side=[id])

    __table_args__ = (
        # The daily sweep and reminders read live cards by expiry date.
        Index("ix_member_cards_status_expiry", "status", "expiry_date"),
        Index("ix_member_cards_type_status", "card_type_id", "status"),
    )

    def __str__(self) -> str:
        return self.number


class CardEvent(db.Model):
    """One move of a card: who, when, the fee charged and why."""

    __tablename__ = "card_events"
    __label__ = _l("Card event")
    __scope__ = "cards"
    __scope_area__ = "cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("member_cards.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str | None] = mapped_column(String(12))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(100), default="system")
    fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    reason: Mapped[str | None] = mapped_column(Text)
    related_card_id: Mapped[int | None] = mapped_column(ForeignKey("member_cards.id"))

    card: Mapped[MemberCard] = relationship(foreign_keys=[card_id])
    actor: Mapped[User | None] = relationship()


class CardUse(db.Model):
    """A use of a card at a place, accepted or refused (an attempt, with the reason)."""

    __tablename__ = "card_uses"
    __label__ = _l("Card use")
    __scope__ = "cards"
    __scope_area__ = "cards"
    # The use list's order (newest first), over everyone's uses and over one customer's.
    __table_args__ = (
        Index("ix_card_uses_used_at", "used_at"),
        Index("ix_card_uses_client_id_used_at", "client_id", "used_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("member_cards.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    used_at: Mapped[datetime] = mapped_column(default=utcnow)
    place: Mapped[str] = mapped_column(String(100))
    # R15 benefits at use: the price before the benefit, the card type's rate then in force,
    # the discount given and what the holder paid (paid = list_price - benefit). A refused
    # use gives no benefit: its rate is empty and it pays the list price.
    list_price: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    discount_rate: Mapped[Decimal | None] = mapped_column(Numeric(4, 3))
    benefit: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    paid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    accepted: Mapped[bool] = mapped_column(default=True)
    refusal: Mapped[str | None] = mapped_column(String(300))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    card: Mapped[MemberCard] = relationship()
    client: Mapped[Client] = relationship(lazy="joined")  # the holder (the list's name link)
