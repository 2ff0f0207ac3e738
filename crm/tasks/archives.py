"""Archive tasks: index a filed document (queued when it is filed), the nightly integrity
sweep (which also indexes filings a queue outage left behind) and the yearly closing of the
previous year's volumes. Each takes ids and is idempotent."""

import logging

from celery import shared_task
from flask import current_app
from flask_babel import lazy_gettext as _l
from kombu.exceptions import OperationalError

from crm.archives import services as arch
from crm.errors import DomainError
from crm.extensions import db
from crm.tasks.locks import locked_task
from crm.timeutil import local_today

logger = logging.getLogger(__name__)


@shared_task(name="crm.tasks.archives.index_document")
def index_document(doc_id: int) -> dict:
    try:
        result = arch.index_document(db.session, doc_id)
    except DomainError as exc:  # a draft, or its volume closed: the archivist sees it pending
        db.session.rollback()
        logger.info("document %s not indexed: refused by a rule", doc_id)
        return {"document": doc_id, "refused": str(exc.message)}
    db.session.commit()
    return result


@shared_task(name="crm.tasks.archives.nightly_integrity")
@locked_task("archives-integrity")
def nightly_integrity() -> dict:
    indexed = 0
    for doc_id in arch.pending_ids(db.session):
        try:
            arch.index_document(db.session, doc_id)
            db.session.commit()
            indexed += 1
        except DomainError:  # e.g. its volume was closed meanwhile: left for the archivist
            db.session.rollback()
    result = arch.check_integrity(db.session)
    problems = result["changed"] + result["missing"] + result["sets"]
    logger.log(
        logging.WARNING if problems else logging.INFO,
        "archives integrity: %s, %s filings indexed",
        result,
        indexed,
    )
    return {**result, "indexed": indexed}


@shared_task(name="crm.tasks.archives.close_year")
@locked_task("archives-close-year")
def close_year(year: int | None = None) -> int:
    """R3: archives are closed every year; run early in January for the year just ended."""
    year = year or local_today().year - 1
    closed = arch.close_year(db.session, year)
    db.session.commit()
    logger.info("archives: %s volumes of %s closed", closed, year)
    return {"year": year, "closed": closed}


@shared_task(name="crm.tasks.archives.propose_disposal")
@locked_task("archives-disposal")
def propose_disposal() -> dict:
    """R3, R6: documents kept past their customer whose retention has ended go on a disposal
    list for the sales manager; a second run finds them listed already and proposes nothing."""
    from crm.archives.disposal import propose_disposal as propose

    listed = propose(db.session, periodic=True)
    result = {
        "list": listed.id if listed else None,
        "documents": len(listed.items) if listed else 0,
    }
    db.session.commit()
    logger.info(
        "archives disposal: list %s proposed with %s documents", result["list"], result["documents"]
    )
    return result


def enqueue_index(doc_id: int) -> bool:
    """Queue the indexing of a filed document; ARCHIVE_INDEX_INLINE runs it in the request.
    True when it ran or was queued; a queue outage leaves it for the nightly sweep."""
    if current_app.config.get("ARCHIVE_INDEX_INLINE"):
        arch.index_document(db.session, doc_id)
        return True
    try:
        index_document.delay(doc_id)
    except OperationalError as exc:
        logger.warning(
            "document %s filed but not queued for indexing: the broker is not reachable (%s)",
            doc_id,
            type(exc).__name__,
        )
        raise DomainError(
            _l(
                "The task queue is not reachable; the document is filed and "
                "will be indexed tonight."
            )
        ) from exc
    return True
