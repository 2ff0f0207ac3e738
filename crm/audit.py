"""The audit trail: its table, and the session hook that records every change of an audited
model in the flush that writes it.

Infrastructure every area uses (it imports the actor, never an area's services): the hook
is installed on the session by crm.create_app.

Models opt in with ``__audited__ = True``; fields named in ``__sensitive__`` are recorded as
masked, fields in ``__audit_skip__`` not at all (bookkeeping that other events already tell).
Because this hangs on the session, changes from the admin, the CLI, importers and tasks are all
recorded without each caller remembering to. A reason given with `audit_reason` is
attached to the events of that transaction.
"""

from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, String, Text, event, inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.access.actor import SYSTEM, current_actor
from crm.auth.models import User
from crm.clients.models import Client
from crm.extensions import db
from crm.timeutil import utcnow


class AuditEvent(db.Model):
    """Who did what to which record, when and why. Written in the same transaction as the change
    by this module; never edited or deleted by the application."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(30))
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[int | None]
    client_id: Mapped[int | None]
    changes: Mapped[dict | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)

    actor: Mapped[User | None] = relationship(lazy="joined")

    __table_args__ = (
        Index("ix_audit_events_client_at", "client_id", "at"),
        Index("ix_audit_events_actor_at", "actor_id", "at"),
        Index("ix_audit_events_entity", "entity", "entity_id"),
        Index("ix_audit_events_at", "at"),
    )


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _trail_is_append_only(mapper, connection, target):
    # The app only appends to the trail; a changed or removed event would be a forged one.
    raise PermissionError("The audit trail cannot be changed or deleted.")


MASK = "******"
SKIP = {"updated_at", "version"}


@contextmanager
def audit_reason(session, reason: str | None):
    previous = session.info.get("audit_reason")
    session.info["audit_reason"] = reason
    try:
        yield
    finally:
        session.info["audit_reason"] = previous


def _plain(value):
    if isinstance(value, Decimal | date | datetime):
        return str(value)
    return value


def client_id_of(obj):
    """The customer a record belongs to (the customer itself for a Client), or None."""
    return obj.id if isinstance(obj, Client) else getattr(obj, "client_id", None)


def _shown(obj, key, value):
    return MASK if value is not None and key in getattr(obj, "__sensitive__", ()) else _plain(value)


def _changes(obj, new: bool) -> dict:
    state = inspect(obj)
    skip = SKIP | getattr(obj, "__audit_skip__", set())
    out = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in skip:
            continue
        hist = state.attrs[key].history
        if new:
            value = getattr(obj, key)
            if value is not None and key != "id":
                out[key] = [None, _shown(obj, key, value)]
        elif hist.has_changes():
            old = hist.deleted[0] if hist.deleted else None
            value = hist.added[0] if hist.added else None
            if old != value:
                out[key] = [_shown(obj, key, old), _shown(obj, key, value)]
    return out


def _action(obj, new: bool, changes: dict) -> str:
    if new:
        return "create"
    if "deleted_at" in changes:
        return "delete" if changes["deleted_at"][1] else "restore"
    return "update"


def actor_label(actor) -> str:
    """Who acted, as stored beside the actor's id: a username, "system" or "anonymous"."""
    if actor is None:
        return "anonymous"
    if actor is SYSTEM:  # a class, so str() would give its repr
        return "system"
    return str(getattr(actor, "username", actor))[:100]


def event_row(session, action, entity, entity_id, client_id, changes=None, reason=None) -> dict:
    actor = current_actor()
    label = actor_label(actor)
    return {
        "at": utcnow(),
        "actor_id": getattr(actor, "id", None),
        "actor_label": label,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "client_id": client_id,
        "changes": changes,
        "reason": reason if reason is not None else session.info.get("audit_reason"),
    }


def record(session, action: str, obj, changes=None, reason=None) -> None:
    """Record an event that is not a column change (a view of a sensitive value, a sign-in…)."""
    row = event_row(session, action, obj.__tablename__, obj.id, client_id_of(obj), changes, reason)
    session.execute(AuditEvent.__table__.insert(), [row])


def _after_flush(session, flush_context):
    rows = []
    for obj, new in [(o, True) for o in session.new] + [(o, False) for o in session.dirty]:
        if not getattr(obj, "__audited__", False):
            continue
        changes = _changes(obj, new)
        if not changes:
            continue
        rows.append(
            event_row(
                session,
                _action(obj, new, changes),
                obj.__tablename__,
                obj.id,
                client_id_of(obj),
                changes,
            )
        )
    for obj in session.deleted:
        if getattr(obj, "__audited__", False):
            rows.append(event_row(session, "destroy", obj.__tablename__, obj.id, client_id_of(obj)))
    if rows:
        session.connection().execute(AuditEvent.__table__.insert(), rows)


def install(session_class) -> None:
    if not event.contains(session_class, "after_flush", _after_flush):
        event.listen(session_class, "after_flush", _after_flush)


__all__ = [
    "MASK",
    "AuditEvent",
    "actor_label",
    "audit_reason",
    "client_id_of",
    "event_row",
    "install",
    "record",
]
