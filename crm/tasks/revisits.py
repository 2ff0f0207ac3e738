from datetime import date

from celery import shared_task

from crm.extensions import db
from crm.governance.services import mark_task_run
from crm.revisits.services import run_daily


@shared_task(name="crm.tasks.revisits.daily")
def daily(today: str | None = None) -> dict:
    """R14: plan revisits, then put the day's revisits and greetings in the inbox, once each."""
    result = run_daily(db.session, date.fromisoformat(today) if today else None)
    mark_task_run(db.session, "revisits_daily", result)
    db.session.commit()
    return result
