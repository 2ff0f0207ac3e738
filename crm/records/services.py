"""Industry notes (R3 cat. 5) and daily records (R8): entered by anyone whose role keeps them,
read by their author and the managers; a daily record can be promoted into a customer's
category archive, keeping a link back."""

from flask_babel import lazy_gettext as _l

from crm.access import can, current_actor
from crm.clients.models import Client
from crm.errors import DomainError, NotAllowed
from crm.governance.services import change_record
from crm.records.models import (
    ARCHIVE_CATEGORIES,
    COMPETITOR_CLASSES,
    NOTE_TOPICS,
    RECORD_KINDS,
    REPORT_PERIODS,
    DailyRecord,
    IndustryNote,
    RecordPromotion,
)
from crm.timeutil import utcnow

WALK_IN = {"walk_in_praise", "walk_in_complaint"}


# --- pure checks --------------------------------------------------------------------------
def note_errors(note: IndustryNote) -> dict:
    errors = {}
    if not (note.competitor or "").strip():
        errors["competitor"] = _l("Name the competitor.")
    if note.competitor_class not in dict(COMPETITOR_CLASSES):
        errors["competitor_class"] = _l("Choose the competitor's class.")
    if note.topic not in dict(NOTE_TOPICS):
        errors["topic"] = _l("Choose a topic.")
    if not note.noted_on:
        errors["noted_on"] = _l("Date the note.")
    if not (note.source or "").strip():
        errors["source"] = _l("Say where this comes from.")
    if not (note.title or "").strip():
        errors["title"] = _l("Give a title.")
    return errors


def record_errors(record: DailyRecord) -> dict:
    errors = {}
    if record.kind not in dict(RECORD_KINDS):
        errors["kind"] = _l("Choose the kind of record.")
    if not (record.title or "").strip():
        errors["title"] = _l("Give a title.")
    if not record.record_date:
        errors["record_date"] = _l("Date the record.")
    if record.kind == "sales_report" and record.period not in dict(REPORT_PERIODS):
        errors["period"] = _l("A sales report or plan says its period.")
    if record.kind != "sales_report":
        record.period = None
    return errors


def _save(session, row, errors_of, action: str, reason: str | None = None):
    actor = current_actor()
    if action == "create":
        row.author_id = row.author_id if actor is None or actor.id is None else actor.id
    with session.no_autoflush:
        errors = errors_of(row)
        if errors:
            raise DomainError(_l("The record has errors."), errors)
        if not can(actor, action, row):
            raise NotAllowed(_l("You may not change this record."))
        if action == "edit":
            return change_record(session, row, reason)
    session.add(row)
    session.flush()
    return row


def add_note(session, note: IndustryNote) -> IndustryNote:
    return _save(session, note, note_errors, "create")


def update_note(session, note: IndustryNote, reason: str | None = None) -> IndustryNote:
    return _save(session, note, note_errors, "edit", reason)


def add_daily_record(session, record: DailyRecord) -> DailyRecord:
    return _save(session, record, record_errors, "create")


def update_daily_record(session, record: DailyRecord, reason: str | None = None):
    return _save(session, record, record_errors, "edit", reason)


# --- promotion into a customer's archive (R8) ---------------------------------------------
def _archive_document(session, record: DailyRecord, client: Client, category: str):
    """An ArchiveDocument via the archives module when it is installed; otherwise None and
    the promotion row alone records the filing."""
    try:
        from crm.archives.models import ArchiveDocument
        from crm.archives.services import new_document
    except ImportError:
        return None
    actor = current_actor()
    doc = ArchiveDocument(
        client_id=client.id,
        category=category,
        title=record.title[:300],
        doc_date=record.record_date,
        pages=1,
        form="both",  # R9 two sets
        handler=str(actor)[:100] if getattr(actor, "id", None) else None,
    )
    return new_document(session, doc)


def promote_record(session, record: DailyRecord, client: Client, category: str):
    """File an important daily record in a customer's category archive, with a link back."""
    actor = current_actor()
    if category not in dict(ARCHIVE_CATEGORIES):
        raise DomainError(
            _l("Choose one of the six archive categories."), {"category": _l("Choose a category.")}
        )
    if client is None:
        raise DomainError(_l("Choose the customer."), {"client": _l("Choose the customer.")})
    promotion = RecordPromotion(
        record_id=record.id,
        client_id=client.id,
        category=category,
        title=record.title,
        kind=record.kind,
        record_date=record.record_date,
        promoted_by_id=getattr(actor, "id", None),
        promoted_at=utcnow(),
    )
    if not (can(actor, "promote", record) and can(actor, "promote", promotion)):
        raise NotAllowed(_l("You may not file this record in this customer's archive."))
    doc = _archive_document(session, record, client, category)
    promotion.archive_document_id = doc.id if doc is not None else None
    session.add(promotion)
    session.flush()
    return promotion
