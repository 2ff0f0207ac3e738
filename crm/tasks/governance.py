from celery import shared_task

from crm.extensions import db
from crm.governance.retention import destroy_expired
from crm.governance.services import mark_task_run


@shared_task(name="crm.tasks.governance.destroy_expired")
def destroy_expired_deletions() -> dict:
    """R6: deletions past their retention are destroyed for good, each recorded; a second run
    finds nothing left to destroy."""
    result = destroy_expired(db.session)
    mark_task_run(db.session, "governance_destroy", result)
    db.session.commit()
    return result
