"""R6 deletions: asked with a reason, approved by the sales manager, kept in a recycle bin for
`deleted_retention_days` (restorable whole), then destroyed for good by a daily task that
records the destruction (001 客户档案的销毁) in a DestructionRecord that outlives the data.

A deleted customer hides everything under it by construction (crm.access hides the rows of a
soft-deleted customer from every query); its soft-deletable rows are marked too, so that the
recycle bin restores exactly the rows the deletion hid and no row deleted earlier on its own.
"""

import logging
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update

from crm.access import can, current_actor, roles_for
from crm.audit import AuditEvent, audit_reason, client_id_of, event_row
from crm.auth.models import User
from crm.clients.models import Client
from crm.errors import DomainError, NotAllowed
from crm.extensions import db
from crm.governance.changes import model_for
from crm.governance.models import (
    APPROVED,
    DESTROYED,
    PENDING,
    REJECTED,
    RESTORED,
    DeletionRequest,
    DestructionRecord,
)
from crm.kernel import SoftDeleted, unscoped
from crm.notifications.services import Target, notify
from crm.settings import get_setting
from crm.timeutil import to_local, utcnow

logger = logging.getLogger(__name__)

UNSCOPED = {**unscoped("retention and destruction", deleted=True), "populate_existing": True}


def retention_days() -> int:
    return int(get_setting("deleted_retention_days"))


def deletes_at_once(actor) -> bool:
    """R6: the sales manager's deletion (and the system's) takes effect at once; others ask."""
    return can(actor, "decide", area="deletions")


def _label(row) -> str:
    return f"{getattr(row, '__label__', row.__tablename__)}: {row}"[:300]


def rows_under(session, root) -> list:
    """The row and, for a customer, every soft-deletable row of that customer still live."""

    rows = [root]
    if isinstance(root, Client):
        for mapper in db.Model.registry.mappers:
            model = mapper.class_
            if (
                issubclass(model, SoftDeleted)
                and model is not Client
                and hasattr(model, "client_id")
            ):
                rows += session.scalars(
                    select(model)
                    .where(model.client_id == root.id, model.deleted_at.is_(None))
                    .execution_options(**unscoped("a deletion takes the customer's rows"))
                ).all()
    return rows


def ask_deletion(session, rows, reason: str) -> DeletionRequest:
    """A deletion request; done at once (into the recycle bin) by the sales manager."""
    actor = current_actor()
    root = rows[0]
    request = DeletionRequest(
        entity=root.__tablename__,
        entity_id=root.id,
        client_id=client_id_of(root),
        label=_label(root),
        reason=reason,
        status=PENDING,
        requested_by_id=getattr(actor, "id", None),
    )
    session.add(request)
    if deletes_at_once(actor):
        _decide(request, APPROVED, None)
        _hide(session, request, rows)
    else:
        session.flush()
        _tell_approvers(session, request)
    return request


def _hide(session, request, rows) -> None:
    from crm.governance.services import hide_rows

    seen, targets = set(), []
    for row in [*rows, *rows_under(session, rows[0])]:
        key = (row.__tablename__, row.id)
        if key not in seen and row.deleted_at is None:
            seen.add(key)
            targets.append(row)
    now = utcnow()
    request.deleted_at = now
    request.rows = [list(key) for key in seen]
    hide_rows(session, targets, request.reason, now)


def _tell_approvers(session, request) -> None:
    approvers = session.scalars(
        select(User).where(User.role.in_(roles_for("deletions", "decide")), User.active.is_(True))
    ).all()
    notify(
        session,
        approvers,
        f"deletion_request:{request.id}",
        "deletion_request",
        str(_l("A deletion awaits your approval")),
        f"{request.label}: {request.reason}",
        client_id=request.client_id,
        target=Target("deletion_request.details_view", request.id),
    )


def _decide(request, status, comment) -> None:
    request.status = status
    request.decided_by_id = getattr(current_actor(), "id", None)
    request.decided_at = utcnow()
    request.comment = (comment or "").strip() or None


def _sales_manager_only() -> None:
    if not deletes_at_once(current_actor()):
        raise NotAllowed(_l("Only the sales manager decides deletions."))


def _request(session, request_id, status) -> DeletionRequest:
    request = session.execute(
        select(DeletionRequest)
        .where(DeletionRequest.id == request_id)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if request is None or request.status != status:
        raise DomainError(_l("This deletion request is not open for that."))
    return request


def approve_deletion(session, request_id: int, comment: str | None = None):
    _sales_manager_only()
    request = _request(session, request_id, PENDING)
    if request.deleted_at is not None:
        raise DomainError(_l("This deletion request is not open for that."))
    model = model_for(request.entity)
    root = session.execute(
        select(model)
        .where(model.id == request.entity_id)
        .execution_options(**unscoped("the deleted row itself"), populate_existing=True)
    ).scalar_one_or_none()
    if root is None:  # deleted meanwhile by another request
        raise DomainError(_l("The record is already deleted."))
    _decide(request, APPROVED, comment)
    _hide(session, request, [root])
    return request


def reject_deletion(session, request_id: int, comment: str):
    _sales_manager_only()
    if not (comment or "").strip():
        raise DomainError(
            _l("Say why the deletion is rejected."), {"comment": _l("Give a comment.")}
        )
    request = _request(session, request_id, PENDING)
    _decide(request, REJECTED, comment)
    session.flush()
    return request


def in_bin(session):
    """The recycle bin: approved deletions not yet restored or destroyed, newest first."""
    return session.scalars(
        select(DeletionRequest)
        .where(DeletionRequest.status == APPROVED)
        .order_by(DeletionRequest.deleted_at.desc())
    ).all()


def purge_after(request):
    return request.deleted_at + timedelta(days=retention_days())


def restore(session, request_id: int) -> DeletionRequest:
    """Bring back exactly the rows the deletion hid (not rows deleted before on their own)."""
    _sales_manager_only()
    request = _request(session, request_id, APPROVED)
    with audit_reason(session, str(_l("Restored from the recycle bin"))):
        for table, row_id in request.rows or []:
            model = model_for(table)
            row = session.execute(
                select(model).where(model.id == row_id).execution_options(**UNSCOPED)
            ).scalar_one_or_none()
            if row is not None and row.deleted_at == request.deleted_at:
                row.deleted_at = None
                row.deleted_by_id = None
        request.status = RESTORED
        request.restored_by_id = getattr(current_actor(), "id", None)
        request.restored_at = utcnow()
        session.flush()
    return request


def _purge(session, table, ids: list, seen: set, counts: dict | None = None) -> int:
    """Hard-delete rows of `table` and, first, whatever points at them: rows that cannot exist
    without them go too; optional references (a notification, a first contact) are cut.
    `counts` collects the rows deleted per table."""

    if not ids or table.name in seen:
        return 0
    seen = seen | {table.name}
    counts = {} if counts is None else counts
    count = 0
    for child in db.metadata.sorted_tables:
        for fk in child.foreign_keys:
            if fk.column.table is not table:
                continue
            column = fk.parent
            if column.nullable:
                session.execute(update(child).where(column.in_(ids)).values({column.name: None}))
            elif "id" in child.c and child.c.id.primary_key:
                child_ids = list(
                    session.execute(select(child.c.id).where(column.in_(ids))).scalars()
                )
                count += _purge(session, child, child_ids, seen, counts)
            else:
                gone = session.execute(delete(child).where(column.in_(ids))).rowcount
                counts[child.name] = counts.get(child.name, 0) + gone
                count += gone
    gone = session.execute(delete(table).where(table.c.id.in_(ids))).rowcount
    counts[table.name] = counts.get(table.name, 0) + gone
    return count + gone


def _contract_files(session, client_id: int) -> list[str]:
    from crm.contracts.models import Contract

    return list(
        session.scalars(
            select(Contract.file_path)
            .where(Contract.client_id == client_id, Contract.file_path.is_not(None))
            .execution_options(**unscoped("the customer's contract files", deleted=True))
        ).all()
    )


def _remove_unshared(session, paths: list[str]) -> int:
    """Delete files no remaining row stores (contract originals are stored by checksum, so two
    customers' identical files share one)."""
    from crm.archives.services import remove_file
    from crm.contracts.models import Contract

    if not paths:
        return 0
    shared = set(
        session.scalars(
            select(Contract.file_path)
            .where(Contract.file_path.in_(paths))
            .execution_options(**unscoped("files other rows still use", deleted=True))
        )
    )
    return sum(remove_file(path) for path in set(paths) - shared)


def _record_label(session, request) -> str:
    """What the record calls a destroyed customer: its kind, id and code (not its name)."""

    code = session.scalar(
        select(Client.code).where(Client.id == request.entity_id).execution_options(**UNSCOPED)
    )
    return f"{Client.__label__} #{request.entity_id}" + (f" {code}" if code else "")


def _destroy_customer(session, request, record, purge) -> dict:
    """Everything a customer leaves: documents kept under retention or destroyed with their
    files and volume lines marked; personal values marked in the trail and the messages;
    first contacts and contract files gone. Returns the record's detail."""
    from crm.archives.disposal import settle_documents
    from crm.governance.redaction import (
        personal_values,
        redact_audit,
        redact_messages,
        redact_text,
    )
    from crm.intake.models import FirstContact

    client_id = request.entity_id
    mark = str(_l("[destroyed]"))
    values = personal_values(session, client_id)
    detail = settle_documents(
        session, client_id, record.id, purge, to_local(record.destroyed_at).date()
    )
    contacts = list(
        session.scalars(
            select(FirstContact.id)
            .where(FirstContact.client_id == client_id)
            .execution_options(**UNSCOPED)
        )
    )
    detail["audit_events_marked"] = redact_audit(
        session, client_id, values, mark, [(FirstContact.__tablename__, contacts)]
    )
    detail["messages_marked"] = redact_messages(session, client_id, values, mark)
    record.reason = redact_text(record.reason, values, mark)
    purge(FirstContact.__table__, contacts)
    files = _contract_files(session, client_id)
    detail["pending_files"] = files
    return detail


def destroy(session, request: DeletionRequest, now=None) -> DestructionRecord:
    """Destroy a deletion's rows for good and record it; the record keeps plain, non-personal
    values only: what kind of row, how many rows per table, which documents went and stayed."""

    existing = session.scalars(
        select(DestructionRecord).where(DestructionRecord.request_id == request.id)
    ).first()
    if existing is not None or request.status == DESTROYED:  # a re-run does nothing more
        return existing
    model = model_for(request.entity)
    record = DestructionRecord(
        entity=request.entity,
        entity_id=request.entity_id,
        client_id=request.client_id,
        label=_record_label(session, request) if model is Client else request.label,
        reason=request.reason,
        requested_by=request.requested_by.username if request.requested_by else "system",
        approved_by=request.decided_by.username if request.decided_by else "system",
        approved_at=request.decided_at,
        deleted_at=request.deleted_at,
        destroyed_at=now or utcnow(),
        row_count=0,
        request_id=request.id,
    )
    session.add(record)
    session.flush()
    counts: dict = {}

    def purge(table, ids):
        return _purge(session, table, ids, set(), counts)

    if model is Client:
        detail = _destroy_customer(session, request, record, purge)
    elif model.__tablename__ == "archive_documents":  # a document deleted alone
        from crm.archives.disposal import destroy_documents

        docs = session.scalars(
            select(model).where(model.id == request.entity_id).execution_options(**UNSCOPED)
        ).all()
        detail = destroy_documents(session, docs, record.id, purge)
    else:
        detail = {}
    files = detail.pop("pending_files", [])
    kept = {("archive_documents", doc_id) for doc_id in detail.pop("kept_ids", [])}
    count = purge(model.__table__, [request.entity_id])
    # Rows hidden with it but not under it by a foreign key go by their own table; documents
    # kept under retention stay.
    for table, row_id in request.rows or []:
        if (table, row_id) != (request.entity, request.entity_id) and (table, row_id) not in kept:
            count += purge(model_for(table).__table__, [row_id])
    if files:
        detail["files_deleted"] = detail.get("files_deleted", 0) + _remove_unshared(session, files)
    record.row_count = sum(counts.values())
    record.detail = {**detail, "rows": counts}
    request.status = DESTROYED
    session.flush()
    session.execute(
        AuditEvent.__table__.insert(),
        [
            event_row(
                session,
                "destroy",
                request.entity,
                request.entity_id,
                request.client_id,
                {"rows": [None, record.row_count], "destruction_record": [None, record.id]},
                record.reason,
            )
        ],
    )
    logger.info(
        "deletion request %s destroyed (%s %s): destruction record %s, %s rows",
        request.id,
        request.entity,
        request.entity_id,
        record.id,
        record.row_count,
    )
    return record


def destroy_expired(session, now=None) -> dict:
    """The daily sweep: every deletion past its retention is destroyed, once."""
    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days())
    due = session.scalars(
        select(DeletionRequest)
        .where(DeletionRequest.status == APPROVED, DeletionRequest.deleted_at <= cutoff)
        .order_by(DeletionRequest.id)
    ).all()
    for request in due:
        destroy(session, request, now)
    if due:
        logger.info("retention: %s deletions past %s days destroyed", len(due), retention_days())
    return {"destroyed": len(due)}
