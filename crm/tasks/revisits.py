import logging
from datetime import date

from celery import shared_task

from crm.extensions import db
from crm.revisits.services import run_daily
from crm.tasks.locks import locked_task

logger = logging.getLogger(__name__)


@shared_task(name="crm.tasks.revisits.daily")
@locked_task("revisits_daily")
def daily(today: str | None = None) -> dict:
    """R14: plan revisits, then put the day's revisits and greetings in the inbox, once each."""
    result = run_daily(db.session, date.fromisoformat(today) if today else None)
    db.session.commit()
    logger.info("revisits daily: %s", result)
    return result
