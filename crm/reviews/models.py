"""The tables of the regular reviews (R7). Consumption itself is defined in
crm.reviews.consumption; these tables hold it per customer and month, and rolled up."""

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.access import ROLLUP_POLICY
from crm.clients.models import Client, Money
from crm.extensions import db
from crm.timeutil import utcnow


class ConsumptionMonth(db.Model):
    """What one customer consumed in one month (company time zone) of one kind: a sales
    record's product kind, or "card" for its accepted card uses. Maintained in the transaction
    that writes a sale or a card use (crm.reviews.consumption.add); rebuilt set-based by
    crm.reviews.consumption.rebuild."""

    __tablename__ = "consumption_months"
    __label__ = _l("Monthly consumption")
    # Finance reads every customer's sales and cards; the customer's people their own.
    __scope__ = "credit"
    __scope_area__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    month: Mapped[date]  # the first day of the month, company time zone
    kind: Mapped[str] = mapped_column(String(30))
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    uses: Mapped[int] = mapped_column(Integer, default=0)

    client: Mapped[Client] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("client_id", "month", "kind", name="uq_consumption_months_key"),
        Index("ix_consumption_months_month_client", "month", "client_id"),
    )


class ConsumptionRollup(db.Model):
    """Consumption of one month summed per region, account manager, level, weight, nature and
    kind (kind "*" = all kinds, whose `customers` counts each customer once). The dashboards
    and analyses read these rows, never the sales or the card uses."""

    __tablename__ = "consumption_rollups"
    __label__ = _l("Consumption summary")
    __scope__ = ROLLUP_POLICY
    __scope_area__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date]
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    account_manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    level: Mapped[str] = mapped_column(String(1))
    weight: Mapped[str] = mapped_column(String(20))
    nature: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(30))
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    uses: Mapped[int] = mapped_column(Integer, default=0)
    customers: Mapped[int] = mapped_column(Integer, default=0)
    built_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_consumption_rollups_month_kind", "month", "kind"),
        Index("ix_consumption_rollups_manager_month", "account_manager_id", "month"),
        Index("ix_consumption_rollups_region_month", "region_id", "month"),
    )
