from celery import shared_task

from crm.extensions import db
from crm.notifications.services import send_outbox


@shared_task(name="crm.tasks.notifications.send_outbox")
def send_outbox_task() -> int:
    return send_outbox(db.session)
