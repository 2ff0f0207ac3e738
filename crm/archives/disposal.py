"""Retention and disposal (R3, R6, R9; 001 客户档案的销毁).

Each archive category has its retention (setting `archive_retention`: Y permanent, D30, D10
years, all far longer than the 30-day recycle bin). When a customer is destroyed, its
documents still under retention stay: detached from the card (no customer, a non-personal
reference to the destruction record), seen only by the archivist and the managers (crm.access).
Its other documents go: their files are deleted and their volume lines say where the item went.

When a kept document's retention ends, a disposal list (销毁清册) is proposed (daily task, or on
demand), the sales manager approves or rejects it with a reason, and carrying it out deletes
the files, marks the documents disposed and their volume lines, and records who and when.
"""

import logging
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select, update

from crm import audit
from crm.access import SYSTEM, can, current_actor, roles_for
from crm.archives import rules
from crm.archives.models import ArchiveDocument, CatalogueLine, DisposalItem, DisposalList
from crm.archives.services import remove_file
from crm.audit import AuditEvent
from crm.errors import DomainError, NotAllowed
from crm.kernel import unscoped
from crm.timeutil import local_today, utcnow

UNSCOPED = unscoped("disposal of documents past retention", deleted=True)
logger = logging.getLogger(__name__)


def _number(doc) -> str:
    return doc.archive_no or f"#{doc.id}"


def under_retention(doc, today: date) -> bool:
    """A document that entered the archive and whose retention has not run out by `today`
    (a draft never entered it: it goes with its customer)."""
    if doc.status == rules.DRAFT or doc.status == rules.DISPOSED:
        return False
    ends = rules.retention_ends(doc.retention, doc.doc_date)
    return ends is None or ends > today


def _files_of(docs) -> list[str]:
    return [path for doc in docs for path in (doc.storage_path, doc.incoming_path) if path]


def _mark_lines(session, doc_ids: list[int], title: str, **values) -> int:
    """The documents' catalogue lines keep their item number and archive number and say what
    became of the item (set-based)."""
    if not doc_ids:
        return 0
    return session.execute(
        update(CatalogueLine)
        .where(CatalogueLine.document_id.in_(doc_ids))
        .values(title=title[:300], remarks="", client_id=None, **values)
        .execution_options(synchronize_session=False)
    ).rowcount


# --- a customer's destruction ----------------------------------------------------------------
def settle_documents(session, client_id: int, destruction_id: int, purge, today=None) -> dict:
    """Called by the customer's destruction before its rows go: documents under retention are
    detached and kept; the others' files are deleted, their lines marked, their rows purged
    (`purge(table, ids)` is the destruction's own purge). Returns what went and what stayed."""
    today = today or local_today()
    docs = session.scalars(
        select(ArchiveDocument)
        .where(ArchiveDocument.client_id == client_id)
        .execution_options(**UNSCOPED)
    ).all()
    kept = [d for d in docs if under_retention(d, today)]
    going = [d for d in docs if d not in kept]
    reference = _("Former customer, see destruction record %(id)s", id=destruction_id)
    if kept:
        kept_ids = [d.id for d in kept]
        session.execute(
            update(ArchiveDocument)
            .where(ArchiveDocument.id.in_(kept_ids))
            .values(
                client_id=None,
                client_name=reference[:200],
                destruction_id=destruction_id,
                deleted_at=None,
                deleted_by_id=None,
            )
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(CatalogueLine)
            .where(CatalogueLine.document_id.in_(kept_ids))
            .values(client_id=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            AuditEvent.__table__.insert(),
            [
                audit.event_row(
                    session,
                    "detach",
                    ArchiveDocument.__tablename__,
                    d.id,
                    None,
                    {"destruction_id": [None, destruction_id]},
                    _("Kept under retention until %(day)s", day=d.retention_ends or "-"),
                )
                for d in kept
            ],
        )
    return {
        "kept_ids": [d.id for d in kept],
        **destroy_documents(session, going, destruction_id, purge),
        "documents_kept": sorted(_number(d) for d in kept),
    }


def destroy_documents(session, docs, destruction_id: int, purge) -> dict:
    """Documents destroyed (with their customer, or deleted alone and past the recycle bin):
    their files deleted, their volume lines kept and saying so, their rows purged."""
    files = _files_of(docs)
    lines = _mark_lines(
        session,
        [d.id for d in docs],
        _("Destroyed — see destruction record %(id)s", id=destruction_id),
        destruction_id=destruction_id,
    )
    purge(ArchiveDocument.__table__, [d.id for d in docs])
    return {
        "documents_destroyed": sorted(_number(d) for d in docs),
        "catalogue_lines_marked": lines,
        "files_deleted": sum(remove_file(path) for path in files),
    }


# --- disposal lists ----------------------------------------------------------------------------
def due_documents(session, today=None):
    """Kept documents (their customer destroyed) whose retention has ended, not yet disposed
    of and not on a list still open."""
    today = today or local_today()
    ended = [
        and_(
            ArchiveDocument.retention == code,
            ArchiveDocument.doc_date < rules.retention_ended_before(code, today),
        )
        for code in rules.RETENTION_YEARS
    ]
    open_items = (
        select(DisposalItem.document_id)
        .join(DisposalList)
        .where(DisposalList.status.in_((rules.PROPOSED, rules.APPROVED)))
    )
    return session.scalars(
        select(ArchiveDocument)
        .where(
            ArchiveDocument.client_id.is_(None),
            ArchiveDocument.destruction_id.is_not(None),
            ArchiveDocument.status != rules.DISPOSED,
            or_(*ended),
            ArchiveDocument.id.not_in(open_items),
        )
        .order_by(ArchiveDocument.archive_no, ArchiveDocument.id)
        .execution_options(**UNSCOPED)
    ).all()


def _require(action: str) -> None:
    actor = current_actor()
    if actor is not SYSTEM and not can(actor, action, area="disposals"):
        raise NotAllowed(
            {
                "create": _l("Only the archivist or a manager proposes a disposal list."),
                "approve": _l("Only the sales manager approves a disposal list."),
                "carry_out": _l("Only the archivist or the sales manager carries out a disposal."),
            }[action]
        )


def propose_disposal(session, today=None, periodic: bool = False) -> DisposalList | None:
    """A list of every document due for disposal; None when nothing is due. The daily task
    (`periodic`) leaves out documents a rejected list kept, which come back only on demand."""
    _require("create")
    today = today or local_today()
    due = due_documents(session, today)
    if periodic:
        rejected = set(
            session.scalars(
                select(DisposalItem.document_id)
                .join(DisposalList)
                .where(DisposalList.status == rules.REJECTED)
            )
        )
        due = [d for d in due if d.id not in rejected]
    if not due:
        return None
    actor = current_actor()
    disposal = DisposalList(
        status=rules.PROPOSED,
        proposed_at=utcnow(),
        proposed_by=getattr(actor, "username", "system"),
    )
    session.add(disposal)
    session.flush()
    session.add_all(
        [
            DisposalItem(
                disposal_id=disposal.id,
                document_id=d.id,
                archive_no=d.archive_no,
                title=d.title,
                category=d.category,
                retention=d.retention,
                doc_date=d.doc_date,
                retention_ended=d.retention_ends,
            )
            for d in due
        ]
    )
    session.flush()
    _tell_sales_managers(session, disposal, len(due))
    return disposal


def _tell_sales_managers(session, disposal, count: int) -> None:
    from crm.auth.models import User
    from crm.notifications.services import Target, notify

    managers = session.scalars(
        select(User).where(User.role.in_(roles_for("disposals", "approve")), User.active.is_(True))
    ).all()
    notify(
        session,
        managers,
        f"disposal:{disposal.id}",
        "disposal",
        _("Disposal list #%(id)s awaits your approval", id=disposal.id),
        _("%(count)s documents whose retention has ended.", count=count),
        target=Target("disposal.details_view", disposal.id),
    )


def _open(session, list_id: int, status: str) -> DisposalList:
    disposal = session.execute(
        select(DisposalList)
        .where(DisposalList.id == list_id)
        .with_for_update(of=DisposalList)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if disposal is None or disposal.status != status:
        raise DomainError(_l("This disposal list is not open for that."))
    return disposal


def decide_disposal(session, list_id: int, approve: bool, comment: str) -> DisposalList:
    """The sales manager's decision, with its reason (audited with the list's change)."""
    _require("approve")
    if not (comment or "").strip():
        raise DomainError(
            _l("Give the reason for the decision."), {"comment": _l("Give a reason.")}
        )
    disposal = _open(session, list_id, rules.PROPOSED)
    disposal.status = rules.APPROVED if approve else rules.REJECTED
    disposal.decided_by_id = getattr(current_actor(), "id", None)
    disposal.decided_at = utcnow()
    disposal.comment = comment.strip()
    with audit.audit_reason(session, disposal.comment):
        session.flush()
    return disposal


def carry_out_disposal(session, list_id: int) -> DisposalList:
    """Dispose of an approved list's documents: files deleted, rows marked disposed, volume
    lines saying so; the list records who did it, when and how many files went."""
    _require("carry_out")
    disposal = _open(session, list_id, rules.APPROVED)
    ids = [item.document_id for item in disposal.items]
    docs = session.scalars(
        select(ArchiveDocument).where(ArchiveDocument.id.in_(ids)).execution_options(**UNSCOPED)
    ).all()
    files = _files_of(docs)
    now = utcnow()
    session.execute(
        update(ArchiveDocument)
        .where(ArchiveDocument.id.in_(ids))
        .values(
            status=rules.DISPOSED,
            disposal_id=disposal.id,
            disposed_at=now,
            storage_path=None,
            incoming_path=None,
            sha256=None,
            size=None,
        )
        .execution_options(synchronize_session=False)
    )
    _mark_lines(
        session,
        ids,
        _("Disposed of — see disposal list %(id)s", id=disposal.id),
        disposal_id=disposal.id,
    )
    disposal.files_deleted = sum(remove_file(path) for path in files)
    disposal.status = rules.DONE
    disposal.carried_out_by_id = getattr(current_actor(), "id", None)
    disposal.carried_out_at = now
    session.execute(
        AuditEvent.__table__.insert(),
        [
            audit.event_row(
                session,
                "dispose",
                ArchiveDocument.__tablename__,
                doc_id,
                None,
                {"status": [rules.ARCHIVED, rules.DISPOSED]},
                _("Disposal list %(id)s", id=disposal.id),
            )
            for doc_id in ids
        ],
    )
    session.flush()
    logger.info(
        "disposal list %s carried out: %s documents, %s files deleted",
        disposal.id,
        len(ids),
        disposal.files_deleted,
    )
    return disposal
