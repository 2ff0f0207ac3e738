"""The tables of the regular reviews (R7). Consumption itself is defined in
crm.reviews.consumption; these tables hold it per customer and month, and rolled up."""

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.access import ROLLUP_POLICY
from crm.auth.models import Region, User
from crm.clients.models import Client
from crm.extensions import db
from crm.kernel import Money, bulk_reference
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
        # The quarterly analysis sums every customer's months in customer order: from the
        # index alone (PostgreSQL), not five million rows read from the table at random.
        Index(
            "ix_consumption_months_client_amount",
            "client_id",
            "month",
            postgresql_include=["amount"],
        ),
    )


class RolledUp:
    """A month's consumption summed per region and account manager (and more, per model),
    read through the rollup scope. No foreign keys: derived rows, deleted and re-inserted in
    bulk every hour (a key check per row made the rebuild three times slower); the ids are
    those of clients.region_id and clients.owner_id at the rollup."""

    __scope__ = ROLLUP_POLICY
    __scope_area__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date]
    region_id: Mapped[int | None]
    account_manager_id: Mapped[int | None]
    kind: Mapped[str] = mapped_column(String(30))
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    uses: Mapped[int] = mapped_column(Integer, default=0)
    customers: Mapped[int] = mapped_column(Integer, default=0)


def _rollup_indexes(table: str) -> tuple:
    return (
        Index(f"ix_{table}_month_kind", "month", "kind"),
        Index(f"ix_{table}_manager_month", "account_manager_id", "month"),
        Index(f"ix_{table}_region_month", "region_id", "month"),
    )


class ConsumptionRollup(RolledUp, db.Model):
    """Consumption of one month summed per region, account manager, level, weight, nature and
    kind (kind "*" = all kinds, whose `customers` counts each customer once). The analyses
    read these rows, never the sales or the card uses."""

    __tablename__ = "consumption_rollups"
    __label__ = _l("Consumption summary")

    level: Mapped[str] = mapped_column(String(1))
    weight: Mapped[str] = mapped_column(String(20))
    nature: Mapped[str] = mapped_column(String(20))
    built_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = _rollup_indexes("consumption_rollups")


class ConsumptionByManager(RolledUp, db.Model):
    """The rollup rows summed over level, weight and nature: one month's consumption per
    region, account manager and kind ("*" all kinds). The home pages' trends read these —
    about 20,000 rows a year at a million customers, where the full rollup has 700,000.
    Rebuilt with the rollup rows of the same months (crm.reviews.consumption.rollup)."""

    __tablename__ = "consumption_by_manager"
    __label__ = _l("Consumption by account manager")

    __table_args__ = _rollup_indexes("consumption_by_manager")


class WatchEntry(db.Model):
    """A customer on a month's watch list (R7), with why, and what its owner did about it."""

    __tablename__ = "watch_entries"
    __audited__ = True
    __audit_skip__ = {"reasons"}  # written once at creation, told by the create event
    __label__ = _l("Watch list entry")
    __scope__ = "detail"
    __scope_area__ = "watch_list"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date]  # the first day of the month the list is for
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    # The account manager and region when the list was made (the list is theirs to work).
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    # [[rule code, detail], …] in the order of crm.reviews.watch.RULES
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    action_taken: Mapped[str | None] = mapped_column(Text)
    handled_at: Mapped[datetime | None]
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    client: Mapped[Client] = relationship(lazy="joined")
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id], lazy="joined")
    region: Mapped[Region | None] = relationship(lazy="joined")
    handled_by: Mapped[User | None] = relationship(foreign_keys=[handled_by_id])

    __table_args__ = (
        UniqueConstraint("month", "client_id", name="uq_watch_entries_month_client"),
        Index("ix_watch_entries_owner_month", "owner_id", "month"),
        Index("ix_watch_entries_region_month", "region_id", "month"),
    )

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.client.name if self.client else ''}"


PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"


class ReclassProposal(db.Model):
    """The quarterly analysis' proposal to move one customer between classes (R7, R2); only
    the sales manager's approval applies it, through the customer card's change path."""

    __tablename__ = "reclass_proposals"
    __audited__ = True
    __label__ = _l("Reclassification proposal")
    __scope__ = "detail"
    __scope_area__ = "reclass"

    id: Mapped[int] = mapped_column(primary_key=True)
    quarter: Mapped[str] = mapped_column(String(6))  # 2026Q1
    client_id: Mapped[int] = mapped_column(bulk_reference("clients.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    previous_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    year_ago_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    level_from: Mapped[str] = mapped_column(String(1))
    level_to: Mapped[str] = mapped_column(String(1))
    weight_from: Mapped[str] = mapped_column(String(20))
    weight_to: Mapped[str] = mapped_column(String(20))
    stage_from: Mapped[str] = mapped_column(String(20))
    stage_to: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    client: Mapped[Client] = relationship(lazy="joined")
    decided_by: Mapped[User | None] = relationship()

    __table_args__ = (
        UniqueConstraint("quarter", "client_id", name="uq_reclass_proposals_quarter_client"),
        Index("ix_reclass_proposals_status_quarter", "status", "quarter"),
    )

    def __str__(self) -> str:
        return f"{self.quarter} {self.client.name if self.client else ''}"
