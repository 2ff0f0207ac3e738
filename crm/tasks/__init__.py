"""Celery wiring: every task runs inside an app context, as the system actor."""

from celery import Celery, Task
from flask import Flask

TASK_MODULES = ["crm.tasks.maintenance", "crm.tasks.notifications"]

BEAT_SCHEDULE = {
    "heartbeat": {"task": "crm.tasks.maintenance.heartbeat", "schedule": 60.0},
    "send-outbox": {"task": "crm.tasks.notifications.send_outbox", "schedule": 60.0},
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
