"""Archive operations (R3, R4, R6, R9): file a document after its sign-off, index it (number,
stored file, both catalogue lines), keep paper locations, close the year's volumes, read a
file (audited), and the nightly integrity sweep.

Indexing is idempotent and safe under two workers: the document row is locked while it is
indexed, an item number is taken by one UPDATE of its volume row (which also refuses a closed
volume), and unique constraints back every step (one number, one item per volume, one line
per document and set, one volume per year × category × account manager)."""

import logging
import uuid
from pathlib import Path, PurePosixPath

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, inspect, or_, select, update
from sqlalchemy.exc import IntegrityError

from crm import access, audit
from crm.access import ARCHIVIST, SYSTEM, can, current_actor
from crm.archives import rules
from crm.archives.models import ArchiveDocument, ArchiveFlag, ArchiveVolume, CatalogueLine
from crm.auth.models import User
from crm.clients.models import Client
from crm.errors import DomainError, NotAllowed
from crm.governance.services import add_record, change_record
from crm.kernel import unscoped
from crm.notifications.services import Target, notify
from crm.settings import get_setting
from crm.storage import LocalStorage, StorageError, clean_key, get_storage, hash_stream
from crm.timeutil import utcnow
from crm.uploads import check_document

logger = logging.getLogger(__name__)
CHUNK = 1024 * 1024
# Fields fixed once a document has its number: they are part of the number or its volume.
NUMBERED_FIELDS = ("client_id", "manager_id", "category", "doc_date", "retention")
UNSCOPED = unscoped("the archive office numbers and files every customer's documents")
LOCATION_FIELDS = {"room", "cabinet", "shelf", "box"}
SIGN_OFF_FIELDS = ("customer_signed", "handler", "approved_by_id", "approved_at")
CONTENT_FIELDS = ("client_id", "category", "title", "doc_date", "pages", "form")


def archive_root() -> Path:
    return Path(current_app.config["ARCHIVE_ROOT"])


def absolute(relative: str) -> Path:
    """The file at a storage address in the local folder (the embedded storage only)."""
    try:
        return LocalStorage(archive_root()).path(relative)
    except StorageError as exc:
        raise DomainError(_l("A storage address points outside the archive.")) from exc


def _checked(relative: str) -> str:
    try:
        return clean_key(relative)
    except StorageError as exc:
        raise DomainError(_l("A storage address points outside the archive.")) from exc


def remove_file(relative: str) -> int:
    """Delete a stored file for good (destruction, disposal); 1 when a file was there. Every
    deletion of archive content goes through here, whatever the storage."""
    return int(get_storage().delete(_checked(relative)))


def sha256_of(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a local file (backups hash their own folder with it)."""
    with Path(path).open("rb") as fh:
        return hash_stream(fh)


# --- documents and sign-off ----------------------------------------------------------------
def new_document(session, doc: ArchiveDocument) -> ArchiveDocument:
    """A draft in the customer's archive: retention from the category's setting (R3)."""
    client = doc.client
    if client is None and doc.client_id is not None:
        client = session.get(Client, doc.client_id)
    if client is None:
        raise DomainError(_l("Choose the customer."), {"client": _l("Choose the customer.")})
    if doc.manager_id is None:
        doc.manager_id = client.owner_id
    doc.client_name = client.name
    if doc.manager_id is None:
        raise DomainError(
            _l("The customer has no responsible account manager."),
            {"client": _l("Assign the customer first.")},
        )
    _check_values(doc)
    doc.retention = get_setting("archive_retention").get(doc.category, "D10")
    doc.status = rules.DRAFT
    doc.created_by_id = getattr(current_actor(), "id", None)
    return add_record(session, doc)


def _check_values(doc) -> None:
    for name in LOCATION_FIELDS:  # blank parts are no location at all
        value = getattr(doc, name)
        if value is not None and value != (value.strip() or None):
            setattr(doc, name, value.strip() or None)
    errors = {}
    if doc.category not in rules.CATEGORIES:
        errors["category"] = _l("Choose one of the six categories.")
    if doc.form not in rules.FORMS:
        errors["form"] = _l("Choose paper, electronic or both.")
    if doc.pages is None or doc.pages < 1:
        errors["pages"] = _l("At least one page.")
    if not (doc.title or "").strip():
        errors["title"] = _l("A title is needed.")
    if errors:
        raise DomainError(_l("The document cannot be saved."), errors)


def update_document(session, doc: ArchiveDocument, reason: str | None = None):
    """Change a document; once numbered, what its number is made of stays, and its catalogue
    lines follow the change."""
    # No autoflush: loading the actor must not flush the edit before its history is read.
    with session.no_autoflush:
        _check_change(doc)
    change_record(session, doc, reason)
    if doc.status == rules.ARCHIVED:
        write_lines(session, doc)
    return doc


def _check_change(doc) -> None:
    state = inspect(doc)
    actor = current_actor()
    if getattr(actor, "role", None) == ARCHIVIST:
        changed = [
            a.key for a in state.attrs if a.history.has_changes() and a.key not in LOCATION_FIELDS
        ]
        if changed:
            raise NotAllowed(_l("The archivist keeps the paper locations, not the content."))
    if doc.status != rules.DRAFT and any(
        state.attrs[f].history.has_changes() for f in SIGN_OFF_FIELDS
    ):
        raise DomainError(_l("The sign-off of a filed document stays as it was filed."))
    if (
        doc.status == rules.DRAFT
        and doc.approved_at is not None
        and any(state.attrs[f].history.has_changes() for f in CONTENT_FIELDS)
    ):
        # The leader approved what they saw: a changed draft waits for a new approval.
        doc.approved_by_id = doc.approved_at = None
    if doc.archive_no:
        changed = [f for f in NUMBERED_FIELDS if state.attrs[f].history.has_changes()]
        if changed:
            raise DomainError(
                _l(
                    "An archived document keeps its customer, account manager, "
                    "category, date and retention."
                )
            )
    _check_values(doc)


def approve_document(session, doc: ArchiveDocument) -> ArchiveDocument:
    """R4: the direct leader's approval (a regional manager of the customer, or a manager)."""
    actor = current_actor()
    if actor is not SYSTEM and not can(actor, "approve", doc):
        raise NotAllowed(_l("Only the account manager's direct leader approves a document."))
    if doc.approved_at is None:
        doc.approved_by_id = getattr(actor, "id", None)
        doc.approved_at = utcnow()
        session.flush()
    return doc


def missing_sign_off(doc: ArchiveDocument) -> list[str]:
    return rules.sign_off_missing(doc.customer_signed, doc.handler, doc.approved_at is not None)


SIGN_OFF_LABELS = {
    "customer_signed": _l("the customer's signature"),
    "handler": _l("the handler (经办人)"),
    "approved": _l("the direct leader's approval"),
}


def file_document(session, doc: ArchiveDocument) -> ArchiveDocument:
    """Submit a signed-off draft for indexing (R4). The caller queues the indexing task."""
    actor = current_actor()
    if actor is not SYSTEM and not can(actor, "file", doc):
        raise NotAllowed(_l("You may not file this document."))
    missing = missing_sign_off(doc)
    if missing:
        raise DomainError(
            _l(
                "A document enters the archive only with %(what)s recorded.",
                what=", ".join(str(SIGN_OFF_LABELS[m]) for m in missing),
            )
        )
    volume = _find_volume(session, doc)
    if volume is not None and volume.status == rules.CLOSED:
        raise DomainError(
            _l("Volume %(code)s is closed and accepts nothing more.", code=volume.code)
        )
    if doc.status == rules.DRAFT:
        doc.status = rules.FILED
        doc.filed_at = utcnow()
        session.flush()
    return doc


# --- the electronic file -------------------------------------------------------------------
def attach_file(
    session, doc: ArchiveDocument, stream, filename: str, content_type: str | None
) -> ArchiveDocument:
    """Keep an upload under the archive root until indexing stores it."""
    actor = current_actor()
    if actor is not SYSTEM and not can(actor, "edit", doc):
        raise NotAllowed(_l("You may not add a file to this document."))
    if doc.storage_path:
        raise DomainError(_l("The archived file is kept as it is; it is not replaced."))
    if doc.form == rules.PAPER:
        raise DomainError(_l("A paper-only document has no electronic file."))
    suffix = check_document(stream, filename, "upload")  # by content, before writing
    name = f"{uuid.uuid4().hex}{suffix}"
    get_storage().put(f"incoming/{name}", stream)
    doc.incoming_path = f"incoming/{name}"
    doc.original_name = (filename or name)[:255]
    doc.content_type = (content_type or "application/octet-stream")[:100]
    if doc.status == rules.ARCHIVED:  # a scan added later joins the electronic set at once
        _store_file(doc)
        session.flush()
        write_lines(session, doc)
    session.flush()
    return doc


def _store_file(doc: ArchiveDocument) -> None:
    """Move the upload to its place, named by the document (so a re-run finds it there)."""
    if doc.storage_path or not doc.incoming_path:
        return
    suffix = PurePosixPath(doc.incoming_path).suffix
    relative = f"{doc.doc_date.year}/{rules.category_code(doc.category)}/{doc.id:08d}{suffix}"
    storage = get_storage()
    storage.move(_checked(doc.incoming_path), relative)
    stored = storage.sha256(relative)  # read back from the storage: the sum of what it keeps
    if stored is None:  # the upload is gone: the electronic set stays missing
        return
    doc.sha256, doc.size = stored
    doc.storage_path = relative
    doc.incoming_path = None
    doc.checked_at = utcnow()


def read_file(session, doc: ArchiveDocument):
    """The content of a document as a binary stream (the caller closes it), for someone who
    may read the customer's archive itself (R5: the archivist's reach over the catalogues does
    not extend to the content). Every read is audited."""
    actor = current_actor()
    if actor is not SYSTEM and not access.in_scope(actor, doc, level="detail"):
        raise NotAllowed(_l("You may see this document's catalogue entry, not its content."))
    if not doc.storage_path:
        raise DomainError(_l("This document has no electronic file."))
    try:
        stream = get_storage().open(_checked(doc.storage_path))
    except FileNotFoundError:
        raise DomainError(_l("The electronic file is missing from storage.")) from None
    audit.record(session, "read_file", doc, {"storage_path": doc.storage_path})
    return stream


# --- volumes, numbers, catalogue lines -------------------------------------------------------
def _find_volume(session, doc) -> ArchiveVolume | None:
    return session.execute(
        select(ArchiveVolume)
        .where(
            ArchiveVolume.year == doc.doc_date.year,
            ArchiveVolume.category == doc.category,
            ArchiveVolume.manager_id == doc.manager_id,
        )
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def _volume_for(session, doc) -> ArchiveVolume:
    """The open or closed volume of the document's year, category and account manager, made
    when first needed. A second worker making the same volume hits the unique constraint and
    takes the first one's."""
    for _attempt in range(5):
        volume = _find_volume(session, doc)
        if volume is not None:
            return volume
        year = doc.doc_date.year
        last = session.execute(
            select(func.max(ArchiveVolume.number)).where(
                ArchiveVolume.year == year, ArchiveVolume.category == doc.category
            )
        ).scalar()
        try:
            with session.begin_nested():
                volume = ArchiveVolume(
                    year=year,
                    category=doc.category,
                    manager_id=doc.manager_id,
                    number=(last or 0) + 1,
                    retention=doc.retention,
                    status=rules.OPEN,
                    item_count=0,
                )
                session.add(volume)
            return volume
        except IntegrityError:
            continue
    raise DomainError(_l("The volume could not be made; try again."))


def _take_item(session, volume: ArchiveVolume) -> int:
    """The volume's next item: one UPDATE that locks the volume row until the transaction
    ends, so concurrent filings queue and a rolled-back filing gives its number back."""
    item = session.execute(
        update(ArchiveVolume)
        .where(ArchiveVolume.id == volume.id, ArchiveVolume.status == rules.OPEN)
        .values(item_count=ArchiveVolume.item_count + 1)
        .returning(ArchiveVolume.item_count)
        .execution_options(synchronize_session=False)
    ).scalar()
    if item is None:
        raise DomainError(
            _l("Volume %(code)s is closed and accepts nothing more.", code=volume.code)
        )
    return item


def _lock_document(session, doc_id: int) -> ArchiveDocument | None:
    return session.execute(
        select(ArchiveDocument)
        .where(ArchiveDocument.id == doc_id)
        .with_for_update(of=ArchiveDocument)
        .execution_options(populate_existing=True, **UNSCOPED)
    ).scalar_one_or_none()


def bind_now(session, doc: ArchiveDocument) -> dict:
    """The archivist's button: index a filed document at once instead of waiting."""
    actor = current_actor()
    if actor is not SYSTEM and not can(actor, "bind", area="archives"):
        raise NotAllowed(_l("Only the archivist binds documents into volumes."))
    return index_document(session, doc.id)


def index_document(session, doc_id: int) -> dict:
    """The indexing task's work: number the document in its volume, store its file, write
    both catalogue lines. Re-running changes nothing; a draft is refused (the archivist
    cannot bind it)."""
    doc = _lock_document(session, doc_id)
    if doc is None:
        raise DomainError(_l("No such document."))
    if doc.status == rules.DRAFT:
        raise DomainError(_l("A draft cannot be bound: its sign-off is incomplete."))
    if not doc.archive_no:
        volume = _volume_for(session, doc)
        item = _take_item(session, volume)
        fonds = get_setting("archive_fonds_code")
        doc.volume_id, doc.item_no = volume.id, item
        doc.archive_no = rules.archive_number(
            fonds, doc.doc_date.year, doc.retention, doc.category, volume.number, item
        )
        doc.archived_at = utcnow()
    if doc.form != rules.PAPER:
        _store_file(doc)
    doc.status = rules.ARCHIVED
    session.flush()
    write_lines(session, doc)
    logger.info("document %s indexed: %s in volume %s", doc.id, doc.archive_no, doc.volume_id)
    return {"document": doc.id, "archive_no": doc.archive_no, "stored": doc.has_file}


def write_lines(session, doc: ArchiveDocument) -> list[CatalogueLine]:
    """Both sets' catalogue lines from the document, each pointing at the other (R9)."""
    existing = {
        line.set_kind: line
        for line in session.scalars(
            select(CatalogueLine)
            .where(CatalogueLine.document_id == doc.id)
            .execution_options(populate_existing=True, **UNSCOPED)
        )
    }
    wanted = rules.sets_of(doc.form)
    lines = []
    for set_kind in wanted:
        line = existing.get(set_kind) or CatalogueLine(document_id=doc.id, set_kind=set_kind)
        line.volume_id, line.client_id, line.item_no = doc.volume_id, doc.client_id, doc.item_no
        line.archive_no, line.title, line.doc_date = doc.archive_no, doc.title, doc.doc_date
        line.pages, line.responsible = doc.pages, str(doc.manager)[:100]
        line.remarks = _remarks(doc, set_kind)
        session.add(line)
        lines.append(line)
    for set_kind, line in existing.items():
        if set_kind not in wanted:
            session.delete(line)
    session.flush()
    return lines


def _remarks(doc, set_kind) -> str:
    if set_kind == rules.PAPER:
        if doc.form == rules.PAPER:
            return _("No electronic copy")
        return rules.paper_remarks(doc.file_code if doc.has_file else None, doc.storage_path)
    if doc.form == rules.ELECTRONIC:
        return _("No paper copy")
    return rules.electronic_remarks(doc.archive_no, doc.location)


def set_paper_location(session, doc, room, cabinet, shelf, box) -> ArchiveDocument:
    """Where the paper set stands (the archivist keeps this for every customer)."""
    actor = current_actor()
    if actor is not SYSTEM and not can(actor, "edit", doc):
        raise NotAllowed(_l("You may not change where this document is kept."))
    doc.room, doc.cabinet, doc.shelf, doc.box = (
        (v or "").strip() or None for v in (room, cabinet, shelf, box)
    )
    change_record(session, doc)
    if doc.status == rules.ARCHIVED:
        write_lines(session, doc)
    return doc


def close_volume(session, volume: ArchiveVolume) -> bool:
    actor = current_actor()
    if actor is not SYSTEM and not can(actor, "bind", area="archives"):
        raise NotAllowed(_l("Only the archivist closes volumes."))
    closed = session.execute(
        update(ArchiveVolume)
        .where(ArchiveVolume.id == volume.id, ArchiveVolume.status == rules.OPEN)
        .values(status=rules.CLOSED, closed_at=utcnow(), closed_by_id=getattr(actor, "id", None))
        .execution_options(synchronize_session=False)
    ).rowcount
    if closed:
        session.refresh(volume)
        audit.record(session, "close", volume, {"status": [rules.OPEN, rules.CLOSED]})
    return bool(closed)


def close_year(session, year: int) -> int:
    """Close every open volume of `year` (R3: archives are closed every year). Refused
    before anything is read to whoever may not close volumes, even in a year with none."""
    actor = current_actor()
    if actor is not SYSTEM and not can(actor, "bind", area="archives"):
        raise NotAllowed(_l("Only the archivist closes volumes."))
    volumes = session.scalars(
        select(ArchiveVolume)
        .where(ArchiveVolume.year == year, ArchiveVolume.status == rules.OPEN)
        .order_by(ArchiveVolume.id)
    ).all()
    return sum(close_volume(session, v) for v in volumes)


# --- integrity ------------------------------------------------------------------------------
def pending_ids(session) -> list[int]:
    """Filed documents whose indexing has not run (a queue that was down, a worker that died)."""
    return list(
        session.scalars(
            select(ArchiveDocument.id)
            .where(ArchiveDocument.status == rules.FILED)
            .order_by(ArchiveDocument.id)
            .execution_options(**UNSCOPED)
        )
    )


def check_integrity(session, share_percent: int | None = None, ids=None) -> dict:
    """Re-hash a rotating share of the stored files (the least recently checked first), flag
    changed and missing files and documents that should have both sets and lack one."""
    share = get_setting("archive_integrity_share") if share_percent is None else share_percent
    base = select(ArchiveDocument).where(ArchiveDocument.storage_path.is_not(None))
    if ids is not None:
        base = base.where(ArchiveDocument.id.in_(ids))
    total = session.execute(
        select(func.count()).select_from(base.subquery()).execution_options(**UNSCOPED)
    ).scalar()
    batch = session.scalars(
        base.order_by(
            ArchiveDocument.checked_at.is_not(None), ArchiveDocument.checked_at, ArchiveDocument.id
        )
        .limit(rules.share_count(total, share))
        .execution_options(**UNSCOPED)
    ).all()
    result = {"checked": 0, "bytes": 0, "changed": 0, "missing": 0, "sets": 0}
    now = utcnow()
    storage = get_storage()
    for doc in batch:
        stored = storage.sha256(_checked(doc.storage_path))
        result["checked"] += 1
        if stored is None:
            result["missing"] += _flag(
                session,
                doc,
                "file_missing",
                f"missing:{doc.id}:{doc.storage_path}",
                doc.storage_path,
            )
        else:
            digest, size = stored
            result["bytes"] += size
            if digest != doc.sha256:
                result["changed"] += _flag(
                    session,
                    doc,
                    "checksum_changed",
                    f"changed:{doc.id}:{doc.sha256}:{digest}",
                    f"{doc.sha256} → {digest}",
                )
        doc.checked_at = now
    result["sets"] = _check_sets(session, ids)
    session.flush()
    return result


def _check_sets(session, ids) -> int:
    # Only the offenders are loaded: the sweep runs over the whole archive every night.
    lacking = or_(
        ArchiveDocument.storage_path.is_(None),
        ArchiveDocument.sha256.is_(None),
        *[
            or_(getattr(ArchiveDocument, f).is_(None), getattr(ArchiveDocument, f) == "")
            for f in LOCATION_FIELDS
        ],
    )
    stmt = select(ArchiveDocument).where(
        ArchiveDocument.status == rules.ARCHIVED, ArchiveDocument.form == rules.BOTH, lacking
    )
    if ids is not None:
        stmt = stmt.where(ArchiveDocument.id.in_(ids))
    flagged = 0
    for doc in session.scalars(stmt.execution_options(**UNSCOPED)):
        if not doc.has_paper:
            flagged += _flag(session, doc, "missing_paper", f"paper:{doc.id}", doc.archive_no)
        if not doc.has_file:
            flagged += _flag(
                session, doc, "missing_electronic", f"electronic:{doc.id}", doc.archive_no
            )
    return flagged


def _flag(session, doc, kind: str, key: str, detail: str) -> int:
    """Record a problem once and tell the archivists once; 1 when it is new."""
    known = session.execute(
        select(ArchiveFlag.id).where(ArchiveFlag.key == key).execution_options(**UNSCOPED)
    ).first()
    if known:
        return 0
    try:
        with session.begin_nested():
            session.add(
                ArchiveFlag(
                    key=key,
                    kind=kind,
                    document_id=doc.id,
                    client_id=doc.client_id,
                    detail=detail or "",
                )
            )
    except IntegrityError:  # another sweep flagged it first
        return 0
    logger.warning("archive integrity: document %s flagged %s", doc.id, kind)
    archivists = session.scalars(
        select(User).where(User.role == ARCHIVIST, User.active.is_(True))
    ).all()
    title = _(
        "Archive integrity: %(kind)s — %(number)s",
        kind=rules.FLAG_KINDS[kind],
        number=doc.archive_no or doc.title,
    )
    notify(
        session,
        archivists,
        f"archive-flag:{key}",
        "archive_flag",
        title,
        detail or "",
        client_id=doc.client_id,
        target=Target("archive_document.details_view", doc.id),
    )
    return 1


def resolve_flag(session, flag: ArchiveFlag) -> ArchiveFlag:
    actor = current_actor()
    if actor is not SYSTEM and not can(actor, "bind", area="archives"):
        raise NotAllowed(_l("Only the archivist resolves integrity flags."))
    flag.resolved_at = flag.resolved_at or utcnow()
    session.flush()
    return flag
