from datetime import date

from celery import shared_task

from crm.extensions import db
from crm.revisits.services import run_daily
from crm.tasks.locks import locked_task


@shared_task(name="crm.tasks.revisits.daily")
@locked_task("revisits_daily")
def daily(today: str | None = None) -> dict:
    """R14: plan revisits, then put the day's revisits and greetings in the inbox, once each."""
    result = run_daily(db.session, date.fromisoformat(today) if today else None)
    db.session.commit()
    return result
