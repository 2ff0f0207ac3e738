"""Columns several areas' tables share, declared once.

The mixins produce exactly the schema the migrations built (same names, types, foreign keys and
indexes); `tests/test_kernel.py` compares the models with the migrated database.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from crm.timeutil import utcnow

Money = Numeric(14, 2)  # amounts in yuan, two decimals (Decimal, never float)


def bulk_reference(target: str) -> ForeignKey:
    """A foreign key the model declares (relationships, and a destruction's search for what
    points at a row, read it) but PostgreSQL does not enforce: on the tables written hundreds
    of thousands of rows at a time (notices, credit crossings) the per-row check, which locks
    the referenced row FOR KEY SHARE, took 70% of a go-live backlog's inbox insert. Every
    writer takes the ids from the rows they point at. SQLite (the embedded default) keeps the
    constraint; migration h29_0021 drops it on PostgreSQL, and the migrations' comparison
    with the models leaves it out (crm.extensions.migration_include_object)."""
    return ForeignKey(target, info={"bulk_reference": True})


class SoftDeleted:
    """Rows are hidden, not removed, when deleted; crm.access filters them out everywhere."""

    deleted_at: Mapped[datetime | None] = mapped_column(index=True)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Decision:
    """Who decided a request and when, and the decider's note (`comment`). `__approval_lazy__`
    says how `decided_by` loads ("joined", or "select")."""

    __approval_lazy__ = "joined"

    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)

    @declared_attr
    def decided_by(cls) -> Mapped["User | None"]:  # noqa: F821
        return relationship(
            "User", foreign_keys=f"{cls.__name__}.decided_by_id", lazy=cls.__approval_lazy__
        )


class Approval(Decision):
    """A request that waits for someone's decision: its status, when it was asked, and the
    `Decision`. Who asked is the model's own: an `author_id` where the row scope's author
    policy needs one, `RequestedBy` otherwise.

    A model tunes the status column with class attributes: `__approval_initial__` (the status
    a new request takes, "pending") and `__approval_status_index__` (an index of its own on
    `status`, True)."""

    __approval_initial__ = "pending"
    __approval_status_index__ = True

    @declared_attr
    def status(cls) -> Mapped[str]:
        return mapped_column(
            String(12), default=cls.__approval_initial__, index=cls.__approval_status_index__
        )

    requested_at: Mapped[datetime] = mapped_column(default=utcnow)


class RequestedBy:
    """Who asked for an `Approval` (where the row has no author of its own); loads as
    `__approval_lazy__` says."""

    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @declared_attr
    def requested_by(cls) -> Mapped["User | None"]:  # noqa: F821
        return relationship(
            "User",
            foreign_keys=f"{cls.__name__}.requested_by_id",
            lazy=getattr(cls, "__approval_lazy__", "joined"),
        )
