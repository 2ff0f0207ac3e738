from celery import shared_task

from crm.extensions import db
from crm.governance.services import mark_task_run


@shared_task(name="crm.tasks.maintenance.heartbeat")
def heartbeat(name: str = "heartbeat") -> str:
    """Records that the worker and beat are alive; the home screen shows when it last ran."""
    run = mark_task_run(db.session, name)
    db.session.commit()
    return run.finished_at.isoformat()
