from datetime import date

from celery import shared_task

from crm.cards.services import run_daily
from crm.extensions import db
from crm.governance.services import mark_task_run


@shared_task(name="crm.tasks.cards.daily")
def daily(today: str | None = None) -> dict:
    """Expiry reminders and expiries of the day; re-running it changes and sends nothing."""
    result = run_daily(db.session, date.fromisoformat(today) if today else None)
    mark_task_run(db.session, "cards_daily", result)
    db.session.commit()
    return result
