import logging

from celery import shared_task

from crm.extensions import db
from crm.governance.retention import destroy_expired
from crm.tasks.locks import locked_task

logger = logging.getLogger(__name__)


@shared_task(name="crm.tasks.governance.destroy_expired")
@locked_task("governance_destroy")
def destroy_expired_deletions() -> dict:
    """R6: deletions past their retention are destroyed for good, each recorded; a second run
    finds nothing left to destroy."""
    result = destroy_expired(db.session)
    db.session.commit()
    logger.info("retention sweep: %s deletions destroyed", result["destroyed"])
    return result
