"""The dual paper and electronic archive (R3, R4, R9): documents, yearly volumes, the
catalogue lines of both sets and the integrity flags."""

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.archives import rules
from crm.auth.models import User
from crm.clients.models import Client
from crm.extensions import db
from crm.kernel import Decision, SoftDeleted
from crm.timeutil import utcnow


class ArchiveVolume(db.Model):
    """固定卷: one per year × category × account manager (R3). `item_count` is the volume's
    own gapless counter: an item is taken by one UPDATE of this row, which also refuses a
    closed volume, so taking and closing are serialised by the row lock."""

    __tablename__ = "archive_volumes"
    __audited__ = True
    __audit_skip__ = {"item_count"}  # each item's document records its own number
    __label__ = _l("Archive volume")

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    category: Mapped[str] = mapped_column(String(20))
    manager_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    number: Mapped[int]  # within year × category
    retention: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(10), default=rules.OPEN)
    item_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    manager: Mapped[User] = relationship(foreign_keys=[manager_id], lazy="joined")

    __table_args__ = (
        UniqueConstraint("year", "category", "manager_id", name="uq_archive_volumes_owner"),
        UniqueConstraint("year", "category", "number", name="uq_archive_volumes_number"),
        Index("ix_archive_volumes_year_status", "year", "status"),
    )

    @property
    def code(self) -> str:
        return f"{self.year}-{rules.category_code(self.category)}-{self.number:03d}"

    def __str__(self) -> str:
        return f"{self.code} {self.manager}"


class ArchiveDocument(SoftDeleted, db.Model):
    """A customer record filed in one of the six categories, in paper, electronic or both."""

    __tablename__ = "archive_documents"
    __audited__ = True
    __audit_skip__ = {"checked_at"}  # the nightly sweep's bookmark, not a change of the record
    __label__ = _l("Archive document")
    # Catalogue metadata: the archivist reads it for every customer; the content (the file)
    # is read at the 'detail' level like the rest of a customer's archive.
    __scope__ = "archive"
    __scope_area__ = "archives"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None once its customer is destroyed while the document is still under retention (R3):
    # it stays, detached from the card, for the archivist and the managers (crm.access hides
    # a row of no customer from everyone else) until a disposal list disposes of it.
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    # The customer's name as filed: the catalogue shows it to the archivist, who does not read
    # customer cards, and it is what the paper says.
    client_name: Mapped[str] = mapped_column(String(200), index=True)
    manager_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    category: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300), index=True)
    doc_date: Mapped[date]
    pages: Mapped[int] = mapped_column(default=1)
    retention: Mapped[str] = mapped_column(String(4))
    form: Mapped[str] = mapped_column(String(12), default=rules.BOTH)
    status: Mapped[str] = mapped_column(String(10), default=rules.DRAFT, index=True)

    # R4 sign-off
    customer_signed: Mapped[bool] = mapped_column(default=False)
    handler: Mapped[str | None] = mapped_column(String(100))  # 经办人
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    filed_at: Mapped[datetime | None]

    # Archive number and place in the volume
    volume_id: Mapped[int | None] = mapped_column(ForeignKey("archive_volumes.id"))
    item_no: Mapped[int | None]
    archive_no: Mapped[str | None] = mapped_column(String(40), unique=True)
    archived_at: Mapped[datetime | None]

    # Paper set: where it stands
    room: Mapped[str | None] = mapped_column(String(30))
    cabinet: Mapped[str | None] = mapped_column(String(30))
    shelf: Mapped[str | None] = mapped_column(String(30))
    box: Mapped[str | None] = mapped_column(String(30))

    # Electronic set: an upload waits in `incoming_path` until indexing stores it
    incoming_path: Mapped[str | None] = mapped_column(String(300))
    original_name: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(100))
    storage_path: Mapped[str | None] = mapped_column(String(300))  # relative to ARCHIVE_ROOT
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None]
    checked_at: Mapped[datetime | None]

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    # Retention and disposal: the destruction that detached it, the list that disposed of it.
    destruction_id: Mapped[int | None] = mapped_column(index=True)
    disposal_id: Mapped[int | None] = mapped_column(ForeignKey("disposal_lists.id"), index=True)
    disposed_at: Mapped[datetime | None]

    # Loaded only when asked: for the archivist the scope hides the customer's card, and a
    # hidden (None) relationship in the row would read to crm.access as a change of customer.
    client: Mapped[Client | None] = relationship()
    manager: Mapped[User] = relationship(foreign_keys=[manager_id], lazy="joined")
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    volume: Mapped[ArchiveVolume | None] = relationship()

    __table_args__ = (
        UniqueConstraint("volume_id", "item_no", name="uq_archive_documents_volume_item"),
        Index("ix_archive_documents_category_date", "category", "doc_date"),
        Index("ix_archive_documents_checked", "checked_at"),
    )

    @property
    def retention_ends(self) -> date | None:
        return rules.retention_ends(self.retention, self.doc_date)

    @property
    def file_code(self) -> str | None:
        return rules.electronic_code(self.archive_no) if self.archive_no else None

    @property
    def location(self) -> str:
        return rules.location_text(self.room, self.cabinet, self.shelf, self.box)

    @property
    def has_paper(self) -> bool:
        return rules.has_location(self.room, self.cabinet, self.shelf, self.box)

    @property
    def has_file(self) -> bool:
        return bool(self.storage_path and self.sha256)

    @property
    def dual_status(self) -> str:
        return rules.dual_status(
            self.form, self.status == rules.ARCHIVED, self.has_paper, self.has_file
        )

    def __str__(self) -> str:
        return f"{self.archive_no} {self.title}" if self.archive_no else self.title


class CatalogueLine(db.Model):
    """A line of a volume's catalogue (卷内目录) in the paper or the electronic set. Written by
    indexing from the document; the remarks point at the other set (R9). A destroyed or
    disposed item keeps its line, saying so and where it is recorded, so that the volume's
    numbering stays gapless and explained."""

    __tablename__ = "archive_catalogue_lines"
    __label__ = _l("Catalogue line")
    __scope__ = "archive"
    __scope_area__ = "archives"

    id: Mapped[int] = mapped_column(primary_key=True)
    volume_id: Mapped[int] = mapped_column(ForeignKey("archive_volumes.id"))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("archive_documents.id"))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    set_kind: Mapped[str] = mapped_column(String(12))
    item_no: Mapped[int]
    archive_no: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    doc_date: Mapped[date]
    pages: Mapped[int]
    responsible: Mapped[str] = mapped_column(String(100))
    remarks: Mapped[str] = mapped_column(Text, default="")
    destruction_id: Mapped[int | None]  # the item was destroyed with its customer
    disposal_id: Mapped[int | None]  # the item was disposed of by this list

    document: Mapped[ArchiveDocument | None] = relationship()

    __table_args__ = (
        UniqueConstraint("document_id", "set_kind", name="uq_archive_catalogue_lines_doc_set"),
        UniqueConstraint(
            "volume_id", "set_kind", "item_no", name="uq_archive_catalogue_lines_item"
        ),
    )


class ArchiveFlag(db.Model):
    """A problem the integrity sweep found. `key` names it (kind, document, what was expected),
    so the same problem is flagged — and the archivists told — once."""

    __tablename__ = "archive_flags"
    __label__ = _l("Integrity flag")
    __scope__ = "archive"
    __scope_area__ = "archives"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    document_id: Mapped[int] = mapped_column(ForeignKey("archive_documents.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]

    document: Mapped[ArchiveDocument] = relationship(lazy="joined")


class DisposalList(Decision, db.Model):
    """销毁清册: documents whose retention has ended, proposed (by the daily task or on demand),
    approved or rejected by the sales manager with a reason, then carried out and recorded."""

    __tablename__ = "disposal_lists"
    __audited__ = True
    __label__ = _l("Disposal list")
    __scope__ = "archive_office"  # crm.access: the archivist and the managers
    __scope_area__ = "disposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(12), default=rules.PROPOSED, index=True)
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    proposed_by: Mapped[str] = mapped_column(String(100))
    carried_out_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    carried_out_at: Mapped[datetime | None]
    files_deleted: Mapped[int] = mapped_column(default=0)

    carried_out_by: Mapped[User | None] = relationship(
        foreign_keys=[carried_out_by_id], lazy="joined"
    )
    items: Mapped[list["DisposalItem"]] = relationship(
        back_populates="disposal", order_by="DisposalItem.archive_no"
    )

    def __str__(self) -> str:
        return f"#{self.id}"


class DisposalItem(db.Model):
    """One document of a disposal list, with what identifies it in the archive (plain values,
    so that the list tells what went after its files are gone)."""

    __tablename__ = "disposal_items"
    __label__ = _l("Disposal item")
    __scope__ = "archive_office"

    id: Mapped[int] = mapped_column(primary_key=True)
    disposal_id: Mapped[int] = mapped_column(ForeignKey("disposal_lists.id"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("archive_documents.id"), index=True)
    archive_no: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(20))
    retention: Mapped[str] = mapped_column(String(4))
    doc_date: Mapped[date]
    retention_ended: Mapped[date]

    disposal: Mapped[DisposalList] = relationship(back_populates="items")

    __table_args__ = (UniqueConstraint("disposal_id", "document_id", name="uq_disposal_items_doc"),)
