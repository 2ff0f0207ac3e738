"""Contracts and agreements of a customer, in signing order (R3 cat. 2)."""

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.clients.models import Client
from crm.extensions import db
from crm.kernel import Money, SoftDeleted
from crm.timeutil import utcnow

KINDS = [
    ("contract", _l("Contract")),
    ("agreement", _l("Agreement")),
    ("repayment", _l("Repayment agreement")),
    ("membership", _l("Membership agreement")),
    ("supplement", _l("Supplementary agreement")),
    ("other", _l("Other")),
]
DRAFT, SIGNED, IN_FORCE, ENDED, CANCELLED = "draft", "signed", "in_force", "ended", "cancelled"
STATUSES = [
    (DRAFT, _l("Draft")),
    (SIGNED, _l("Signed")),
    (IN_FORCE, _l("In force")),
    (ENDED, _l("Ended")),
    (CANCELLED, lazy_pgettext("contract status", "Cancelled")),
]


class Contract(SoftDeleted, db.Model):
    __tablename__ = "contracts"
    __audited__ = True
    __label__ = _l("Contract")
    # Finance reads every customer's contracts, as it reads their credit (DESIGN roles).
    __scope__ = "credit"
    __scope_area__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    seq: Mapped[int]  # the customer's catalogue number (目录), given at entry
    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="contract")
    title: Mapped[str] = mapped_column(String(200))
    signed_on: Mapped[date | None]
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    status: Mapped[str] = mapped_column(String(12), default=DRAFT, index=True)
    our_signer: Mapped[str | None] = mapped_column(String(100))
    customer_signer: Mapped[str | None] = mapped_column(String(100))
    # The original (paper scan or electronic file) under ARCHIVE_ROOT (R9: its storage address).
    file_path: Mapped[str | None] = mapped_column(String(300))
    file_name: Mapped[str | None] = mapped_column(String(200))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    client: Mapped[Client] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    __table_args__ = (
        UniqueConstraint("client_id", "seq", name="uq_contracts_client_seq"),
        # The card lists a customer's contracts by signing date.
        Index("ix_contracts_client_signed", "client_id", "signed_on"),
        Index("ix_contracts_signed_on", "signed_on"),
        Index("ix_contracts_kind_signed", "kind", "signed_on"),
    )

    def __str__(self) -> str:
        return f"{self.number} {self.title}"
