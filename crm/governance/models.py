from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.extensions import db
from crm.kernel import Approval, RequestedBy
from crm.timeutil import utcnow


class TaskRun(db.Model):
    """When each background job last ran, so the screens can show that the workers are alive."""

    __tablename__ = "task_runs"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    runs: Mapped[int] = mapped_column(default=0)
    result: Mapped[dict | None] = mapped_column(JSON)


class TaskLock(db.Model):
    """The lock of a periodic task against overlapping runs (crm.tasks.locks): one row a task
    name, held while ``holder`` is set. Its holder refreshes ``heartbeat_at`` while it runs; a
    lock whose heartbeat is older than the task's stale time (its worker died) may be taken
    over. Written outside the task's transaction, through its own connection."""

    __tablename__ = "task_locks"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    acquired_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]


# --- Issue 7: changes that wait, deletions kept a month, grants that expire, consent --------
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
RESTORED, DESTROYED = "restored", "destroyed"


class ChangeRequest(Approval, db.Model):
    """R6: an edit that waits for the sales manager: the field-level difference and its reason.
    Only its author and the managers see it (the row scope's author policy)."""

    __tablename__ = "change_requests"
    __scope__ = "author"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Cascades with the customer's destruction: it holds the customer's data.
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[int]
    changes: Mapped[dict] = mapped_column(JSON)  # {field: [old, new]}
    base_version: Mapped[int | None]
    reason: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)

    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined")

    def __str__(self) -> str:
        return f"#{self.id} {self.entity}/{self.entity_id}"


class DeletionRequest(RequestedBy, Approval, db.Model):
    """R6: a deletion from request to approval, the recycle bin, restoration or destruction.
    No foreign key to the deleted rows: it must outlive them."""

    __tablename__ = "deletion_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[int]
    client_id: Mapped[int | None] = mapped_column(index=True)
    label: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text)
    deleted_at: Mapped[datetime | None] = mapped_column(index=True)
    rows: Mapped[list | None] = mapped_column(JSON)  # [[table, id], ...] hidden together
    restored_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    restored_at: Mapped[datetime | None]

    def __str__(self) -> str:
        return self.label


class DestructionRecord(db.Model):
    """001 客户档案的销毁: what was destroyed, when, who asked and who approved. Plain values
    only, so that it outlives the data it tells of."""

    __tablename__ = "destruction_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[int]
    client_id: Mapped[int | None] = mapped_column(index=True)
    label: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str | None] = mapped_column(String(100))
    approved_by: Mapped[str | None] = mapped_column(String(100))
    approved_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime]
    destroyed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    row_count: Mapped[int] = mapped_column(default=0)
    request_id: Mapped[int | None]
    # What went, without personal values: rows per table, the archive numbers of the documents
    # destroyed and of those kept under retention, files deleted, trail events marked.
    detail: Mapped[dict | None] = mapped_column(JSON)


class ViewGrant(Approval, db.Model):
    """R5: another account manager or a department manager reads a customer's archive for a
    while, read-only, after the sales or general manager's approval. The grantee is the
    author (they see their own requests)."""

    __tablename__ = "view_grants"
    __audited__ = True
    __scope__ = "author"
    __approval_status_index__ = False  # ix_view_grants_live leads with the author

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    ends_at: Mapped[datetime | None]

    client: Mapped["Client"] = relationship(lazy="joined")  # noqa: F821
    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined")

    __table_args__ = (Index("ix_view_grants_live", "author_id", "status", "ends_at"),)

    def __str__(self) -> str:
        return f"#{self.id}"


class Consent(db.Model):
    """R17: the customer's consent to one use of their information, and its withdrawal."""

    __tablename__ = "consents"
    __audited__ = True
    __scope__ = "detail"
    __scope_area__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    given_at: Mapped[datetime] = mapped_column(default=utcnow)
    given_how: Mapped[str] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(Text)
    withdrawn_at: Mapped[datetime | None]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    client: Mapped["Client"] = relationship(lazy="joined")  # noqa: F821

    __table_args__ = (Index("ix_consents_client_purpose", "client_id", "purpose"),)

    def __str__(self) -> str:
        return f"{self.purpose} {self.given_at:%Y-%m-%d}"
