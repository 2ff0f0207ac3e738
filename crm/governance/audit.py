"""Every change of an audited model is recorded in the flush that writes it.

Models opt in with ``__audited__ = True``; fields named in ``__sensitive__`` are recorded as
masked, fields in ``__audit_skip__`` not at all (bookkeeping that other events already tell).
Because this hangs on the session, changes from the admin, the CLI, importers and tasks are all
recorded without each caller remembering to. A reason given with `audit_reason` is
attached to the events of that transaction.
"""

from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import event, inspect

from crm.access import SYSTEM, current_actor
from crm.governance.models import AuditEvent
from crm.timeutil import utcnow

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


def _client_id(obj):
    from crm.clients.models import Client

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
    row = event_row(session, action, obj.__tablename__, obj.id, _client_id(obj), changes, reason)
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
                session, _action(obj, new, changes), obj.__tablename__, obj.id,
                _client_id(obj), changes,
            )
        )
    for obj in session.deleted:
        if getattr(obj, "__audited__", False):
            rows.append(event_row(session, "destroy", obj.__tablename__, obj.id, _client_id(obj)))
    if rows:
        session.connection().execute(AuditEvent.__table__.insert(), rows)


def install(session_class) -> None:
    if not event.contains(session_class, "after_flush", _after_flush):
        event.listen(session_class, "after_flush", _after_flush)


__all__ = ["SYSTEM", "audit_reason", "record", "install"]
