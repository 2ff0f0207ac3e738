"""Celery wiring: every task runs inside an app context, as the system actor."""

from celery import Celery, Task
from celery.schedules import crontab
from flask import Flask

TASK_MODULES = ["crm.tasks.maintenance", "crm.tasks.notifications", "crm.tasks.cards",
                "crm.tasks.credit", "crm.tasks.archives", "crm.tasks.intake",
                "crm.tasks.revisits", "crm.tasks.governance"]

BEAT_SCHEDULE = {
    "heartbeat": {"task": "crm.tasks.maintenance.heartbeat", "schedule": 60.0},
    "send-outbox": {"task": "crm.tasks.notifications.send_outbox", "schedule": 60.0},
    # Just after the company's midnight (beat keeps the company's zone): the day's card expiries.
    "cards-daily": {"task": "crm.tasks.cards.daily", "schedule": crontab(hour=0, minute=10)},
    "credit-nightly": {"task": "crm.tasks.credit.nightly_check",
                       "schedule": crontab(hour=1, minute=0)},
    # R11: each quarter's first day, every customer is re-evaluated.
    "credit-quarterly": {"task": "crm.tasks.credit.quarterly_reevaluation",
                         "schedule": crontab(hour=2, minute=0, day_of_month=1,
                                             month_of_year="1,4,7,10")},
    # R9: a rotating share of the electronic archive is re-hashed every night.
    "archives-integrity": {"task": "crm.tasks.archives.nightly_integrity",
                           "schedule": crontab(hour=3, minute=0)},
    # R3: the year just ended is closed early on 2 January, after late filings of 31 December.
    "archives-close-year": {"task": "crm.tasks.archives.close_year",
                            "schedule": crontab(hour=4, minute=0, day_of_month=2,
                                                month_of_year=1)},
    # R3, R6: kept documents whose retention has ended are proposed for disposal each morning.
    "archives-disposal": {"task": "crm.tasks.archives.propose_disposal",
                          "schedule": crontab(hour=4, minute=30)},
    # R12, R14: early in the company's morning, before staff open their inbox.
    "intake-daily": {"task": "crm.tasks.intake.daily", "schedule": crontab(hour=6, minute=0)},
    # R6: deletions past their retention are destroyed in the quiet hours.
    "governance-destroy": {"task": "crm.tasks.governance.destroy_expired",
                           "schedule": crontab(hour=2, minute=30)},
    "revisits-daily": {"task": "crm.tasks.revisits.daily",
                       "schedule": crontab(hour=6, minute=10)},
}


def init_celery(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.import_name, task_cls=FlaskTask, include=TASK_MODULES)
    celery_app.conf.update(
        broker_url=app.config["BROKER_URL"],
        result_backend=app.config["RESULT_BACKEND"],
        timezone=app.config["TIMEZONE"],
        enable_utc=True,
        beat_schedule=BEAT_SCHEDULE,
        beat_schedule_filename=app.config["BEAT_SCHEDULE_FILE"],
        # A task whose worker dies is delivered again; tasks are written to be idempotent.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        task_ignore_result=False,
        result_expires=7 * 24 * 3600,
        worker_hijack_root_logger=False,
    )
    celery_app.conf.update(app.config.get("CELERY", {}))
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
