"""Industry notes (R3 cat. 5) and the daily records (R8), with their promotions into a
customer's category archive. Neither belongs to a customer: their author and the managers
(READ_ALL) read them (crm.access "author" policy)."""

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.clients.models import Client
from crm.extensions import db
from crm.kernel import SoftDeleted
from crm.timeutil import utcnow

COMPETITOR_CLASSES = [
    ("club", _l("Club")),
    ("hotel", _l("Hotel")),
    ("resort", _l("Resort")),
    ("other", _l("Other")),
]
NOTE_TOPICS = [
    ("promotion", _l("Promotion")),
    ("commission", _l("Commission scheme")),
    ("pricing", _l("Prices")),
    ("other", _l("Other")),
]
RECORD_KINDS = [
    ("minutes", _l("Meeting minutes")),
    ("letter", _l("Letter")),
    ("fax", _l("Fax")),
    ("booking", _l("Booking")),
    ("visit_form", _l("Visit form")),
    ("sales_report", _l("Sales report or plan")),
    ("walk_in_praise", _l("Walk-in praise")),
    ("walk_in_complaint", _l("Walk-in complaint")),
    ("event_plan", _l("Event plan")),
    ("event_result", _l("Event result")),
]
REPORT_PERIODS = [
    ("daily", _l("Daily")),
    ("weekly", _l("Weekly")),
    ("monthly", _l("Monthly")),
    ("quarterly", _l("Quarterly")),
    ("yearly", _l("Yearly")),
]
# R3's six categories (the same keys as crm.archives).
ARCHIVE_CATEGORIES = [
    ("basic", _l("Basic materials")),
    ("contracts", _l("Contracts and agreements")),
    ("debts", _l("Debts and repayments")),
    ("complaints", _l("Complaints and discounts")),
    ("industry", _l("Industry trends")),
    ("promotion", _l("Promotions, sales records and commissions")),
]


class Authored:
    __scope__ = "author"

    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IndustryNote(Authored, SoftDeleted, db.Model):
    """A competitor of the same class: its promotions and commission schemes, dated, sourced."""

    __tablename__ = "industry_notes"
    __audited__ = True
    __label__ = _l("Industry note")
    __scope_area__ = "industry"

    id: Mapped[int] = mapped_column(primary_key=True)
    competitor: Mapped[str] = mapped_column(String(200), index=True)
    competitor_class: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    noted_on: Mapped[date] = mapped_column(index=True)
    source: Mapped[str] = mapped_column(String(300))

    author: Mapped[User | None] = relationship(foreign_keys="IndustryNote.author_id", lazy="joined")

    __table_args__ = (Index("ix_industry_notes_topic_noted", "topic", "noted_on"),)

    def __str__(self) -> str:
        return f"{self.competitor}: {self.title}"


class DailyRecord(Authored, SoftDeleted, db.Model):
    __tablename__ = "daily_records"
    __audited__ = True
    __label__ = _l("Daily record")
    __scope_area__ = "daily_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    record_date: Mapped[date]
    period: Mapped[str | None] = mapped_column(String(12))  # sales reports and plans
    counterpart: Mapped[str | None] = mapped_column(String(200))  # sender, guest, attendees
    content: Mapped[str] = mapped_column(Text)
    handling: Mapped[str | None] = mapped_column(Text)  # walk-in praise and complaints

    author: Mapped[User | None] = relationship(foreign_keys="DailyRecord.author_id", lazy="joined")

    __table_args__ = (
        Index("ix_daily_records_kind_date", "kind", "record_date"),
        Index("ix_daily_records_date", "record_date"),
    )

    def __str__(self) -> str:
        return f"{self.record_date} {self.title}"


class RecordPromotion(db.Model):
    """A daily record moved into a customer's category archive, pointing back to it (R8)."""

    __tablename__ = "record_promotions"
    __audited__ = True
    __label__ = _l("Record filed in an archive")
    __scope__ = "detail"
    __scope_area__ = "daily_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("daily_records.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    category: Mapped[str] = mapped_column(String(20))
    # A copy of what was filed, readable by the customer's people who may not read the record.
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    record_date: Mapped[date]
    # The archive document made from it, when the archives module is installed (no foreign
    # key: that table lives in another migration branch).
    archive_document_id: Mapped[int | None]
    promoted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    promoted_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    record: Mapped[DailyRecord] = relationship()
    client: Mapped[Client] = relationship(lazy="joined")
    promoted_by: Mapped[User | None] = relationship()

    __table_args__ = (Index("ix_record_promotions_category_at", "category", "promoted_at"),)
