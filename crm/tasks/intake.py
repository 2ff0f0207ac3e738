import logging
from datetime import date

from celery import shared_task

from crm.clients.services import check_contact_staff
from crm.extensions import db
from crm.intake.services import check_registrations
from crm.tasks.locks import locked_task

logger = logging.getLogger(__name__)


@shared_task(name="crm.tasks.intake.daily")
@locked_task("intake_daily")
def daily(today: str | None = None) -> dict:
    """R12: registration reminders and late alerts; re-running sends nothing twice."""
    result = check_registrations(db.session, date.fromisoformat(today) if today else None)
    db.session.commit()
    logger.info("intake daily: %s", result)
    return result


@shared_task(name="crm.tasks.intake.weekly_staff_check")
@locked_task("intake_weekly_staff")
def weekly_staff_check(today: str | None = None) -> dict:
    """R12: K and A customers with fewer than two staff in contact, to the regional manager,
    once per customer per week; re-running in the same week sends nothing twice."""
    result = check_contact_staff(db.session, date.fromisoformat(today) if today else None)
    db.session.commit()
    logger.info("intake weekly staff check: %s", result)
    return result
