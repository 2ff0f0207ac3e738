"""R6: a change needs the sales manager's approval, and the change and its reason are kept.

An account manager's edit of a governed record (the customer card, a contract, a complaint's
liability finding, a credit profile) is not applied: `hold_for_approval`, called from the one
write path every domain uses (governance.services.change_record), keeps the field-level
difference in a ChangeRequest and puts the record back as it was. The sales manager (or the
general manager) approves it, which applies exactly that difference in one transaction, unless
the record changed in the meantime; or rejects it with a comment. Managers' own edits apply at
once, with a reason. Adding material (a new key person, contact log, document) never waits.
"""

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select

from crm.access import SYSTEM, can, current_actor, roles_for
from crm.audit import client_id_of
from crm.auth.models import User
from crm.errors import DomainError, NotAllowed
from crm.extensions import db
from crm.governance.models import APPROVED, PENDING, REJECTED, ChangeRequest
from crm.notifications.services import Target, notify
from crm.timeutil import utcnow

# Governed tables and the fields whose change waits (None: every field of the record).
GOVERNED = {
    "clients": None,
    "contracts": None,
    "complaints": {"liability", "liability_notes"},  # 责任鉴定: the finding, not the handling
    "credit_profiles": None,
}
# Bookkeeping that moves by itself and is never part of a change.
IGNORED = {"id", "version", "updated_at", "created_at", "deleted_at", "deleted_by_id"}


class Conflict(DomainError):
    """The record changed after the request was made; `fields` are the ones that moved."""

    def __init__(self, message, fields):
        super().__init__(message)
        self.fields = fields


def model_for(table: str):
    for mapper in db.Model.registry.mappers:
        if getattr(mapper.class_, "__tablename__", None) == table:
            return mapper.class_
    raise KeyError(table)


def plain(value):
    """A JSON-safe form of a column value; `typed` turns it back."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def typed(model, key: str, value):
    if value is None:
        return None
    python_type = model.__table__.columns[key].type.python_type
    if python_type is datetime:
        return datetime.fromisoformat(value)
    if python_type is date:
        return date.fromisoformat(value)
    if python_type is Decimal:
        return Decimal(value)
    return value


def column_changes(session, row, fields) -> dict:
    """{column: (old, new)} of what the session holds against what is stored (read from the
    table: an attribute set after its object expired has no old value in its history); a
    many-to-one relationship set by a form counts as its foreign-key column."""
    state = inspect(row)
    table = state.mapper.local_table
    stored = session.execute(select(table).where(table.c.id == row.id)).mappings().one()
    out = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in IGNORED or (fields is not None and key not in fields):
            continue
        hist = state.attrs[key].history
        if hist.added:
            old, new = stored[attr.columns[0].name], hist.added[0]
            if old != new:
                out[key] = (old, new)
    for rel in state.mapper.relationships:
        if rel.direction.name != "MANYTOONE" or rel.viewonly:
            continue
        hist = state.attrs[rel.key].history
        if not hist.added:
            continue
        column = next(iter(rel.local_columns)).key
        if column in IGNORED or (fields is not None and column not in fields):
            continue
        new = getattr(hist.added[0], "id", None)
        old = stored[column]
        if new != old:
            out[column] = (old, new)
    return out


def governed(row) -> bool:
    return getattr(row, "__tablename__", None) in GOVERNED and row.id is not None


def hold_for_approval(session, row, reason: str | None) -> ChangeRequest | None:
    """Called before a governed record's changes are flushed. Returns the request when the
    change must wait (the record is then put back as stored), None when it applies now."""
    actor = current_actor()
    if actor is SYSTEM or not governed(row):
        return None
    diff = column_changes(session, row, GOVERNED[row.__tablename__])
    if not diff:
        return None
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(
            _l("A change of the archive needs a reason."),
            {"change_reason": _l("Give the reason for the change.")},
        )
    if can(actor, "edit_directly", area="changes"):  # with a reason; everyone else asks
        return None
    request = ChangeRequest(
        client_id=client_id_of(row),
        entity=row.__tablename__,
        entity_id=row.id,
        changes={k: [plain(old), plain(new)] for k, (old, new) in diff.items()},
        base_version=getattr(row, "version", None),
        reason=reason,
        author_id=actor.id,
        status=PENDING,
    )
    # Put the record back: the stored values are reloaded on next access.
    rel_keys = [
        r.key
        for r in inspect(row).mapper.relationships
        if r.direction.name == "MANYTOONE" and next(iter(r.local_columns)).key in diff
    ]
    session.expire(row, [*diff, *rel_keys])
    session.add(request)
    session.flush()
    _tell_approvers(session, request)
    return request


def _tell_approvers(session, request) -> None:
    approvers = session.scalars(
        select(User).where(User.role.in_(roles_for("changes", "decide")), User.active.is_(True))
    ).all()
    notify(
        session,
        approvers,
        f"change_request:{request.id}",
        "change_request",
        str(_l("A change awaits your approval")),
        request.reason,
        client_id=request.client_id,
        target=Target("change_request.details_view", request.id),
    )


def _load_request(session, request_id: int) -> ChangeRequest:
    actor = current_actor()
    if not can(actor, "decide", area="changes"):
        raise NotAllowed(_l("Only the sales manager or the general manager decides changes."))
    request = session.execute(
        select(ChangeRequest)
        .where(ChangeRequest.id == request_id)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if request is None:
        raise DomainError(_l("No such change request."))
    if request.status != PENDING:
        raise DomainError(_l("This change request has already been decided."))
    return request


def stale_fields(row, request: ChangeRequest) -> list[str]:
    """The fields that moved since the request (all of them when the version moved)."""
    moved = [key for key, (old, _new) in request.changes.items() if plain(getattr(row, key)) != old]
    version = getattr(row, "version", None)
    if not moved and request.base_version is not None and version != request.base_version:
        moved = list(request.changes)
    return moved


def approve_change(session, request_id: int, comment: str | None = None) -> ChangeRequest:
    """Apply exactly the requested difference, in the caller's transaction, or refuse."""
    from crm.governance.services import change_record

    request = _load_request(session, request_id)
    model = model_for(request.entity)
    row = session.execute(
        select(model).where(model.id == request.entity_id).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if row is None:
        raise DomainError(_l("The record no longer exists."))
    moved = stale_fields(row, request)
    if moved:
        raise Conflict(
            _l(
                "The record was changed after this request (%(fields)s): "
                "reject it and ask for a new one.",
                fields=", ".join(moved),
            ),
            moved,
        )
    with session.no_autoflush:
        for key, (_old, new) in request.changes.items():
            setattr(row, key, typed(model, key, new))
        _decide(request, APPROVED, comment)
        change_record(session, row, request.reason)
    _tell_author(session, request)
    return request


def reject_change(session, request_id: int, comment: str) -> ChangeRequest:
    if not (comment or "").strip():
        raise DomainError(_l("Say why the change is rejected."), {"comment": _l("Give a comment.")})
    request = _load_request(session, request_id)
    _decide(request, REJECTED, comment)
    session.flush()
    _tell_author(session, request)
    return request


def _decide(request, status, comment) -> None:
    request.status = status
    request.decided_by_id = getattr(current_actor(), "id", None)
    request.decided_at = utcnow()
    request.comment = (comment or "").strip() or None


def _tell_author(session, request) -> None:
    title = (
        _l("Your change was approved")
        if request.status == APPROVED
        else _l("Your change was rejected")
    )
    notify(
        session,
        [request.author],
        f"change_request:{request.id}:{request.status}",
        "change_request",
        str(title),
        request.comment or "",
        client_id=request.client_id,
        target=Target("change_request.details_view", request.id),
    )


def pending_for(session, client_id: int) -> list[ChangeRequest]:
    """The card's waiting changes the signed-in user may see (their own, or all for managers)."""
    return session.scalars(
        select(ChangeRequest)
        .where(ChangeRequest.client_id == client_id, ChangeRequest.status == PENDING)
        .order_by(ChangeRequest.requested_at)
    ).all()
