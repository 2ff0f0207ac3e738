from celery import shared_task

from crm.extensions import db
from crm.governance.services import mark_task_run
from crm.tasks.locks import locked_task


@shared_task(name="crm.tasks.maintenance.heartbeat")
# Records itself (under the name it is given): the lock only keeps two beats from overlapping.
@locked_task("heartbeat", record=False)
def heartbeat(name: str = "heartbeat") -> str:
    """Records that the worker and beat are alive; the home screen shows when it last ran."""
    run = mark_task_run(db.session, name)
    db.session.commit()
    return run.finished_at.isoformat()
