from datetime import date

from celery import shared_task

from crm.clients.services import check_contact_staff
from crm.extensions import db
from crm.governance.services import mark_task_run
from crm.intake.services import check_registrations


@shared_task(name="crm.tasks.intake.daily")
def daily(today: str | None = None) -> dict:
    """R12: registration reminders and late alerts; re-running sends nothing twice."""
    result = check_registrations(db.session, date.fromisoformat(today) if today else None)
    mark_task_run(db.session, "intake_daily", result)
    db.session.commit()
    return result


@shared_task(name="crm.tasks.intake.weekly_staff_check")
def weekly_staff_check(today: str | None = None) -> dict:
    """R12: K and A customers with fewer than two staff in contact, to the regional manager,
    once per customer per week; re-running in the same week sends nothing twice."""
    result = check_contact_staff(db.session, date.fromisoformat(today) if today else None)
    mark_task_run(db.session, "intake_weekly_staff", result)
    db.session.commit()
    return result
