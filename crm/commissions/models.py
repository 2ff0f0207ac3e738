"""Promotion schemes, promoters, sales and monthly commission statements (R3 cat. 6)."""

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.clients.models import Client
from crm.extensions import db
from crm.kernel import Money
from crm.timeutil import utcnow

INTERNAL, EXTERNAL = "internal", "external"
PROMOTER_KINDS = [(INTERNAL, _l("Internal staff")), (EXTERNAL, _l("External promoter"))]
OPEN, CONFIRMED = "open", "confirmed"
STATEMENT_STATUSES = [
    (OPEN, lazy_pgettext("statement status", "Open")),
    (CONFIRMED, _l("Confirmed")),
]
SALE, ADJUSTMENT = "sale", "adjustment"
LINE_KINDS = [(SALE, _l("Sale")), (ADJUSTMENT, _l("Adjustment"))]


class Promoter(db.Model):
    """Internal staff or an external promoter (外联促销人员)."""

    __tablename__ = "promoters"
    __audited__ = True
    __label__ = _l("Promoter")

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(12), default=INTERNAL)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    phone: Mapped[str | None] = mapped_column(String(30))
    active: Mapped[bool] = mapped_column(default=True)
    notes: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return self.name


class PromotionScheme(db.Model):
    __tablename__ = "promotion_schemes"
    __audited__ = True
    __label__ = _l("Promotion scheme")

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    target: Mapped[str | None] = mapped_column(Text)
    target_amount: Mapped[Decimal | None] = mapped_column(Money)
    rule_kind: Mapped[str] = mapped_column(String(12))
    rates: Mapped[list] = mapped_column(JSON, default=list)  # [[key, rate fraction], …]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __str__(self) -> str:
        return self.name


class ClientInviter(db.Model):
    """The promoter a customer's sales count for now (R13: "a sale counts for the current
    inviter"). One row per customer; replaced when the invitation moves."""

    __tablename__ = "client_inviters"
    __audited__ = True
    __label__ = _l("Current inviter")
    __scope__ = "detail"
    __scope_area__ = "commissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), unique=True)
    promoter_id: Mapped[int] = mapped_column(ForeignKey("promoters.id"))
    since: Mapped[date]

    client: Mapped[Client] = relationship(lazy="joined")
    promoter: Mapped[Promoter] = relationship(lazy="joined")


class SalesRecord(db.Model):
    __tablename__ = "sales_records"
    __audited__ = True
    __label__ = _l("Sales record")
    # Finance pays commissions and reads every sale, as it reads credit (the "credit" level).
    __scope__ = "credit"
    __scope_area__ = "commissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    # The customer's inviter when the sale was recorded: the promoter it counts for.
    promoter_id: Mapped[int] = mapped_column(ForeignKey("promoters.id"))
    scheme_id: Mapped[int] = mapped_column(ForeignKey("promotion_schemes.id"))
    product_kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Money)
    sold_on: Mapped[date]
    commission: Mapped[Decimal] = mapped_column(Money)  # computed from the scheme, never typed
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    client: Mapped[Client] = relationship(lazy="joined")
    promoter: Mapped[Promoter] = relationship(lazy="joined")
    scheme: Mapped[PromotionScheme] = relationship(lazy="joined")

    __table_args__ = (
        Index("ix_sales_records_promoter_sold", "promoter_id", "sold_on"),
        Index("ix_sales_records_sold_on", "sold_on"),
        Index("ix_sales_records_kind_sold", "product_kind", "sold_on"),
    )


class CommissionStatement(db.Model):
    """A promoter's month; once a manager confirms it, it is frozen. Its promoter's member of
    staff reads it; the managers and finance read every one (crm.access "promoter" policy)."""

    __tablename__ = "commission_statements"
    __audited__ = True
    __label__ = _l("Commission statement")
    __scope__ = "promoter"
    __scope_area__ = "commission_statements"

    id: Mapped[int] = mapped_column(primary_key=True)
    promoter_id: Mapped[int] = mapped_column(ForeignKey("promoters.id"))
    month: Mapped[str] = mapped_column(String(7), index=True)  # YYYY-MM
    status: Mapped[str] = mapped_column(String(12), default=OPEN, index=True)
    total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None]

    promoter: Mapped[Promoter] = relationship(lazy="joined")
    confirmed_by: Mapped[User | None] = relationship()
    lines: Mapped[list["CommissionLine"]] = relationship(
        back_populates="statement", order_by="CommissionLine.id"
    )

    __table_args__ = (
        UniqueConstraint("promoter_id", "month", name="uq_statements_promoter_month"),
    )

    def __str__(self) -> str:
        return f"{self.promoter.name if self.promoter else ''} {self.month}"


class CommissionLine(db.Model):
    __tablename__ = "commission_lines"
    __audited__ = True
    __label__ = _l("Commission line")

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("commission_statements.id"), index=True)
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sales_records.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12), default=SALE)
    amount: Mapped[Decimal] = mapped_column(Money)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    statement: Mapped[CommissionStatement] = relationship(back_populates="lines")
    sale: Mapped[SalesRecord | None] = relationship()
