"""Credit of signing customers (签单客户), RULES R3 cat. 3, R10, R11.

The ledger (`LedgerEntry`) is the record: rows are only ever added; a correction is a reversing
entry. Everything else that moves is derived from it and kept up to date in the same
transaction: `CreditBalance` (one row per customer, locked while a ledger row is written),
`OpenItem` (what is still unpaid of each charge and unallocated of each payment) and
`Allocation` (which payment paid which charge, oldest charge first).
"""

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.access import ROLLUP_POLICY
from crm.auth.models import User
from crm.clients.models import Client
from crm.errors import DomainError
from crm.extensions import db
from crm.kernel import Money, bulk_reference
from crm.timeutil import utcnow

CHARGE, PAYMENT, REVERSAL = "charge", "payment", "reversal"
ENTRY_KINDS = [(CHARGE, _l("Charge")), (PAYMENT, _l("Payment")), (REVERSAL, _l("Reversal"))]
CHARGE_SOURCES = [
    ("bill", _l("Signed bill")),
    ("invoice", _l("Invoice")),
    ("instalment", _l("Contract instalment")),
    ("other", _l("Other")),
]


class CreditScoped:
    """Customer-owned credit rows: read by the customer's people and by finance (crm.access)."""

    __scope__ = "credit"
    __scope_area__ = "credit"


class CreditProfile(CreditScoped, db.Model):
    """Grade, limit and period set by the general manager at the end of the R11 chain."""

    __tablename__ = "credit_profiles"
    __audited__ = True
    __label__ = _l("Credit profile")

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), unique=True)
    grade: Mapped[str] = mapped_column(String(10))
    credit_limit: Mapped[Decimal] = mapped_column(Money)
    period_days: Mapped[int] = mapped_column(Integer)
    payment_terms: Mapped[str | None] = mapped_column(String(200))
    payment_method: Mapped[str | None] = mapped_column(String(100))
    direct_export: Mapped[bool] = mapped_column(Boolean, default=False)
    collateral: Mapped[str | None] = mapped_column(Text)
    review_id: Mapped[int | None] = mapped_column(ForeignKey("credit_reviews.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    client: Mapped[Client] = relationship(lazy="joined")
    balance: Mapped["CreditBalance | None"] = relationship(
        primaryjoin="CreditProfile.client_id == foreign(CreditBalance.client_id)",
        viewonly=True,
        lazy="joined",
    )

    def __str__(self) -> str:
        return f"{self.client.name} {self.grade}"


class CreditBalance(CreditScoped, db.Model):
    """What a customer owes now (charges − payments ± reversals), written with each ledger row,
    beside a copy of its approved limit: a check of all customers then reads one narrow table
    and joins nothing."""

    __tablename__ = "credit_balances"

    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), primary_key=True)
    outstanding: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    credit_limit: Mapped[Decimal | None] = mapped_column(Money)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    # the home pages' 20 largest exposures (issue 15)
    __table_args__ = (Index("ix_credit_balances_outstanding", "outstanding"),)


class LedgerEntry(CreditScoped, db.Model):
    """A charge, a payment or the reversal of one. Never edited, never deleted."""

    __tablename__ = "ledger_entries"
    __audited__ = True
    __label__ = _l("Ledger entry")

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    kind: Mapped[str] = mapped_column(String(10))
    source: Mapped[str | None] = mapped_column(String(20))
    entry_date: Mapped[date]
    due_date: Mapped[date | None]
    amount: Mapped[Decimal] = mapped_column(Money)
    reference: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str | None] = mapped_column(Text)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    override_reason: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    client: Mapped[Client] = relationship(lazy="joined")
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    override_by: Mapped[User | None] = relationship(foreign_keys=[override_by_id])

    # a customer's entries newest first, the id breaking ties (the card, the filtered list)
    __table_args__ = (
        Index("ix_ledger_entries_client_date_id", "client_id", "entry_date", "id"),
        Index("ix_ledger_entries_kind_date", "kind", "entry_date"),
    )

    def __str__(self) -> str:
        return f"#{self.id} {self.kind} {self.amount}"


@event.listens_for(LedgerEntry, "before_update")
def _refuse_edit(mapper, connection, target):
    if any(attr.history.has_changes() for attr in inspect(target).attrs):
        raise DomainError(_l("A ledger entry is never changed: record a reversing entry."))


@event.listens_for(LedgerEntry, "before_delete")
def _refuse_delete(mapper, connection, target):
    raise DomainError(_l("A ledger entry is never deleted: record a reversing entry."))


class OpenItem(CreditScoped, db.Model):
    """The unpaid part of a charge or the unallocated part of a payment; the aging report and
    the overdue check read these instead of re-summing the ledger."""

    __tablename__ = "credit_open_items"

    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    kind: Mapped[str] = mapped_column(String(10))
    entry_date: Mapped[date]
    due_date: Mapped[date | None]
    open_amount: Mapped[Decimal] = mapped_column(Money)

    __table_args__ = (
        Index("ix_credit_open_items_client", "client_id", "kind", "entry_date"),
        Index("ix_credit_open_items_due", "kind", "due_date"),
    )


class Allocation(CreditScoped, db.Model):
    """Part of a payment applied to a charge. A reversal adds the negative row."""

    __tablename__ = "credit_allocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    charge_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    alloc_date: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Deferral(CreditScoped, db.Model):
    """A deferred-payment approval (延期付款审批) moving a charge's due date."""

    __tablename__ = "credit_deferrals"
    __audited__ = True
    __label__ = _l("Deferred-payment approval")

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    charge_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"))
    old_due_date: Mapped[date | None]
    new_due_date: Mapped[date]
    reason: Mapped[str] = mapped_column(Text)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RepaymentPlan(CreditScoped, db.Model):
    """A repayment plan (还款计划) or a repayment agreement (还款协议) on file."""

    __tablename__ = "credit_repayment_plans"
    __audited__ = True
    __label__ = _l("Repayment plan")

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="plan")
    signed_on: Mapped[date]
    amount: Mapped[Decimal] = mapped_column(Money)
    schedule: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    client: Mapped[Client] = relationship(lazy="joined")


class Crossing(CreditScoped, db.Model):
    """Whether a customer is counted above a threshold, and how many times it crossed it. The
    unique (customer, threshold) row is what lets concurrent checks notify a crossing once."""

    __tablename__ = "credit_crossings"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(bulk_reference("clients.id"))
    threshold: Mapped[int] = mapped_column(Integer)
    above: Mapped[bool] = mapped_column(Boolean, default=False)
    crossing_no: Mapped[int] = mapped_column(Integer, default=0)
    crossed_at: Mapped[datetime | None]
    rearmed_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("client_id", "threshold", name="uq_credit_crossings_client_threshold"),
    )


REVIEW_STEPS = [
    ("region", _l("Regional manager review")),
    ("sales", _l("Sales manager review")),
    ("gm", _l("General manager decision")),
]
REVIEW_STATUS = [
    ("region", _l("Awaiting regional manager")),
    ("sales", _l("Awaiting sales manager")),
    ("gm", _l("Awaiting general manager")),
    ("approved", _l("Approved")),
    ("rejected", _l("Rejected")),
]


class CreditReview(CreditScoped, db.Model):
    """A proposal to set or change a customer's credit, and its R11 chain: regional manager,
    sales manager, general manager — each with opinion and date. Nothing changes until the
    general manager approves."""

    __tablename__ = "credit_reviews"
    __scope_area__ = "credit_review"
    __audited__ = True
    __label__ = _l("Credit review")

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    origin: Mapped[str] = mapped_column(String(20), default="proposal")  # or "reevaluation"
    period: Mapped[str | None] = mapped_column(String(10))  # the quarter of a re-evaluation
    status: Mapped[str] = mapped_column(String(10), default="region", index=True)
    grade: Mapped[str] = mapped_column(String(10))
    credit_limit: Mapped[Decimal] = mapped_column(Money)
    period_days: Mapped[int] = mapped_column(Integer)
    payment_terms: Mapped[str | None] = mapped_column(String(200))
    payment_method: Mapped[str | None] = mapped_column(String(100))
    direct_export: Mapped[bool] = mapped_column(Boolean, default=False)
    collateral: Mapped[str | None] = mapped_column(Text)
    previous: Mapped[dict | None] = mapped_column(JSON)
    situation: Mapped[str] = mapped_column(Text, default="")
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    region_opinion: Mapped[str | None] = mapped_column(Text)
    region_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    region_at: Mapped[datetime | None]
    sales_opinion: Mapped[str | None] = mapped_column(Text)
    sales_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sales_at: Mapped[datetime | None]
    gm_opinion: Mapped[str | None] = mapped_column(Text)
    gm_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    gm_at: Mapped[datetime | None]

    client: Mapped[Client] = relationship(lazy="joined")
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
    region_by: Mapped[User | None] = relationship(foreign_keys=[region_by_id])
    sales_by: Mapped[User | None] = relationship(foreign_keys=[sales_by_id])
    gm_by: Mapped[User | None] = relationship(foreign_keys=[gm_by_id])

    __table_args__ = (UniqueConstraint("client_id", "period", name="uq_credit_reviews_period"),)

    def __str__(self) -> str:
        return f"#{self.id} {self.client.name}"


class CheckRun(db.Model):
    """One credit check (all customers, a selection or one), with progress and result."""

    __tablename__ = "credit_check_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(20), default="all")
    client_ids: Mapped[list | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # Recovery (issue 13): a run of all customers holds the lock "all" while it is queued or
    # running (unique: a second one cannot start), commits each chunk with the next customer id
    # to check, the summary so far and the running count of notices (kept across attempts), and
    # beats at every chunk: a live run whose beat is older than TASK_STALE_MINUTES is stalled.
    live_lock: Mapped[str | None] = mapped_column(String(20), unique=True)
    next_client_id: Mapped[int | None]
    partial: Mapped[dict | None] = mapped_column(JSON)
    notified: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    claim: Mapped[str | None] = mapped_column(String(40))
    heartbeat_at: Mapped[datetime | None]

    started_by: Mapped[User | None] = relationship()


class CreditExposure(db.Model):
    """Credit exposure summed per region and account manager (issue 15 point 7): for each
    measure — customers at each threshold of their limit ("use:80", "use:90"), over it
    ("use:over"), with overdue debts ("overdue"), and what is owed by age past due
    ("age:not_due" … "age:d90_plus") — the customers and the amount. Rebuilt whole, set-based,
    by crm.credit.exposure.refresh after each check of all customers and every hour; the home
    pages read these few hundred rows, never the balances or the open items of every customer.
    """

    __tablename__ = "credit_exposure"
    __label__ = _l("Credit exposure summary")
    __scope__ = ROLLUP_POLICY
    __scope_area__ = "credit"

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign keys: derived rows (as consumption_rollups), the ids those of
    # clients.region_id and clients.owner_id at the refresh; 0 for none, so that the key below
    # is unique on every database (NULLs never conflict) and a refresh can upsert it.
    region_id: Mapped[int] = mapped_column(Integer, default=0)
    account_manager_id: Mapped[int] = mapped_column(Integer, default=0)
    measure: Mapped[str] = mapped_column(String(20))
    customers: Mapped[int] = mapped_column(Integer, default=0)
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    as_of: Mapped[date]  # the day "overdue" and the ages were counted for
    built_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint(
            "account_manager_id", "region_id", "measure", name="uq_credit_exposure_key"
        ),
        Index("ix_credit_exposure_region", "region_id"),
    )


# The Core tables of crm.credit's set-based statements (no ORM events, no scope hook: the
# services ask the scope themselves before they write).
BAL, PROF, CROSS, OPEN = (
    CreditBalance.__table__,
    CreditProfile.__table__,
    Crossing.__table__,
    OpenItem.__table__,
)
LEDGER, ALLOC = LedgerEntry.__table__, Allocation.__table__
