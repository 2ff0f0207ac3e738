import logging
from datetime import date

from celery import shared_task

from crm.cards.services import run_daily
from crm.extensions import db
from crm.tasks.locks import locked_task

logger = logging.getLogger(__name__)


@shared_task(name="crm.tasks.cards.daily")
@locked_task("cards_daily")
def daily(today: str | None = None) -> dict:
    """Expiry reminders and expiries of the day; re-running it changes and sends nothing."""
    result = run_daily(db.session, date.fromisoformat(today) if today else None)
    db.session.commit()
    logger.info("cards daily: %s reminded, %s expired", result["reminded"], result["expired"])
    return result
