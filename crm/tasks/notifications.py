import logging

from celery import shared_task

from crm.extensions import db
from crm.notifications.delivery import send_digests, send_outbox
from crm.tasks.locks import locked_task

logger = logging.getLogger(__name__)


@shared_task(name="crm.tasks.notifications.send_outbox")
@locked_task("send-outbox")
def send_outbox_task() -> int:
    return send_outbox(db.session)


@shared_task(name="crm.tasks.notifications.send_digests")
@locked_task("send-digests")
def send_digests_task() -> int:
    """Hourly: queues the day's digests once the digest hour (setting) has come; a later run of
    the same day finds them queued already (their event key names the person and the day)."""
    queued = send_digests(db.session)
    sent = send_outbox(db.session)
    logger.info("digests: %s queued, %s mails sent", queued, sent)
    return queued
