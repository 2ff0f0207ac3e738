"""Celery wiring: every task runs inside an app context, as the system actor; every task's
start, end (with its duration) and failure is logged."""

import logging
import time

from celery import Celery, Task, signals
from celery.schedules import crontab
from flask import Flask
from kombu import Queue

logger = logging.getLogger(__name__)

TASK_MODULES = [
    "crm.tasks.maintenance",
    "crm.tasks.notifications",
    "crm.tasks.cards",
    "crm.tasks.credit",
    "crm.tasks.archives",
    "crm.tasks.intake",
    "crm.tasks.revisits",
    "crm.tasks.governance",
    "crm.tasks.reviews",
]

BEAT_SCHEDULE = {
    "heartbeat": {"task": "crm.tasks.maintenance.heartbeat", "schedule": 60.0},
    "send-outbox": {"task": "crm.tasks.notifications.send_outbox", "schedule": 60.0},
    "send-digests": {"task": "crm.tasks.notifications.send_digests", "schedule": crontab(minute=2)},
    # Just after the company's midnight (beat keeps the company's zone): the day's card expiries.
    "cards-daily": {"task": "crm.tasks.cards.daily", "schedule": crontab(hour=0, minute=10)},
    "credit-nightly": {
        "task": "crm.tasks.credit.nightly_check",
        "schedule": crontab(hour=1, minute=0),
    },
    # The home pages' credit exposure (crm.credit.exposure), within the hour of the ledger.
    "credit-exposure": {
        "task": "crm.tasks.credit.refresh_exposure",
        "schedule": crontab(minute=47),
    },
    # R11: each quarter's first day, every customer is re-evaluated.
    "credit-quarterly": {
        "task": "crm.tasks.credit.quarterly_reevaluation",
        "schedule": crontab(hour=2, minute=0, day_of_month=1, month_of_year="1,4,7,10"),
    },
    # R9: a rotating share of the electronic archive is re-hashed every night.
    "archives-integrity": {
        "task": "crm.tasks.archives.nightly_integrity",
        "schedule": crontab(hour=3, minute=0),
    },
    # R3: the year just ended is closed early on 2 January, after late filings of 31 December.
    "archives-close-year": {
        "task": "crm.tasks.archives.close_year",
        "schedule": crontab(hour=4, minute=0, day_of_month=2, month_of_year=1),
    },
    # R3, R6: kept documents whose retention has ended are proposed for disposal each morning.
    "archives-disposal": {
        "task": "crm.tasks.archives.propose_disposal",
        "schedule": crontab(hour=4, minute=30),
    },
    # R12, R14: early in the company's morning, before staff open their inbox.
    "intake-daily": {"task": "crm.tasks.intake.daily", "schedule": crontab(hour=6, minute=0)},
    # R12: each Monday morning, important customers with fewer than two staff in contact.
    "intake-weekly-staff": {
        "task": "crm.tasks.intake.weekly_staff_check",
        "schedule": crontab(hour=6, minute=20, day_of_week=1),
    },
    # R6: deletions past their retention are destroyed in the quiet hours.
    "governance-destroy": {
        "task": "crm.tasks.governance.destroy_expired",
        "schedule": crontab(hour=2, minute=30),
    },
    "revisits-daily": {"task": "crm.tasks.revisits.daily", "schedule": crontab(hour=6, minute=10)},
    # R7: the consumption rollups the dashboards read, for this month and the last.
    "reviews-rollup": {"task": "crm.tasks.reviews.rollup_recent", "schedule": crontab(minute=17)},
    # R7: the watch list on the 1st; the quarter's, half-year's and year's analyses after them.
    "reviews-monthly": {
        "task": "crm.tasks.reviews.monthly",
        "schedule": crontab(hour=5, minute=0, day_of_month=1),
    },
    "reviews-quarterly": {
        "task": "crm.tasks.reviews.quarterly",
        "schedule": crontab(hour=5, minute=20, day_of_month=1, month_of_year="1,4,7,10"),
    },
    "reviews-half-year": {
        "task": "crm.tasks.reviews.analysis",
        "args": ("half-year",),
        "schedule": crontab(hour=5, minute=40, day_of_month=1, month_of_year="1,7"),
    },
    "reviews-year": {
        "task": "crm.tasks.reviews.analysis",
        "args": ("year",),
        "schedule": crontab(hour=6, minute=0, day_of_month=1, month_of_year=1),
    },
}


# Queues that do not wait for each other (issue 17 point 5): what a user waits for, the nightly
# sweeps (minutes on a large book), and mail/robot notices. A worker started without -Q takes
# all three (the embedded default: one worker); in production run one worker per queue, or at
# least one for "interactive" alone, so that a sweep never delays an upload's indexing.
INTERACTIVE, SWEEPS, MAIL = "interactive", "sweeps", "mail"
QUEUES = (INTERACTIVE, SWEEPS, MAIL)
TASK_ROUTES = {
    # queued by a screen, someone is waiting for the result
    "crm.tasks.archives.index_document": {"queue": INTERACTIVE},
    "crm.tasks.credit.run_check": {"queue": INTERACTIVE},
    "crm.tasks.notifications.*": {"queue": MAIL},
    # everything else (beat's sweeps, the heartbeat) goes to the default queue, SWEEPS
}
# With Redis, beat keeps its schedule in Redis and holds a lock there (celery-redbeat): a
# second beat (another machine) waits for the lock, schedules nothing while the first lives,
# and takes over within BEAT_LOCK_TIMEOUT seconds of its death, from the same last-run times.
BEAT_LOOP_SECONDS = 5


QUICK_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}


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
        beat_schedule={
            **BEAT_SCHEDULE,
            "heartbeat": {
                **BEAT_SCHEDULE["heartbeat"],
                "schedule": float(app.config.get("BEAT_HEARTBEAT_SECONDS") or 60),
            },
        },
        beat_schedule_filename=app.config["BEAT_SCHEDULE_FILE"],
        # A task whose worker dies is delivered again; tasks are written to be idempotent.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        # A screen that queues a task must answer within seconds when the broker is down: a
        # few quick retries, then the error (crm.tasks.credit.enqueue_check makes it a message).
        task_publish_retry_policy=QUICK_RETRY,
        task_ignore_result=False,
        result_expires=7 * 24 * 3600,
        worker_hijack_root_logger=False,
        task_queues=[Queue(name) for name in QUEUES],
        task_default_queue=SWEEPS,
        task_routes=TASK_ROUTES,
    )
    _configure_beat(celery_app, app.config)
    if app.config["BROKER_URL"].startswith(("redis", "rediss")):
        # See Config.BROKER_VISIBILITY_TIMEOUT (kombu's default is one hour).
        celery_app.conf.broker_transport_options = {
            "visibility_timeout": app.config["BROKER_VISIBILITY_TIMEOUT"]
        }
    if app.config["RESULT_BACKEND"].startswith(("redis", "rediss")):
        celery_app.conf.update(
            result_backend_transport_options={"retry_policy": QUICK_RETRY},
            redis_socket_connect_timeout=5,
        )
    celery_app.conf.update(app.config.get("CELERY", {}))
    _connect_task_log()
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def _configure_beat(celery_app: Celery, config) -> None:
    """Beat's scheduler: celery-redbeat when there is Redis (production: one beat at a time,
    whatever the number started), the file-backed default scheduler otherwise (embedded: one
    machine, one beat)."""
    url = config.get("BEAT_REDIS_URL") or config["BROKER_URL"]
    if not url.startswith(("redis://", "rediss://")):
        return
    celery_app.conf.update(
        beat_scheduler="redbeat.RedBeatScheduler",
        redbeat_redis_url=url,
        redbeat_key_prefix=config.get("BEAT_KEY_PREFIX") or "crm-redbeat",
        # held by the running beat, extended at each tick (at most BEAT_LOOP_SECONDS apart)
        redbeat_lock_timeout=int(config.get("BEAT_LOCK_TIMEOUT") or 60),
        beat_max_loop_interval=BEAT_LOOP_SECONDS,
    )


_STARTED: dict[str, float] = {}


def _task_started(task_id=None, task=None, **kwargs):
    _STARTED[task_id] = time.perf_counter()
    logger.info("task %s started (id %s)", task.name, task_id)


def _task_ended(task_id=None, task=None, state=None, **kwargs):
    started = _STARTED.pop(task_id, None)
    duration = (time.perf_counter() - started) * 1000 if started else 0.0
    logger.info(
        "task %s ended %s in %.1fms (id %s)",
        task.name,
        state,
        duration,
        task_id,
        extra={"duration_ms": round(duration, 1)},
    )


def _task_failed(task_id=None, exception=None, sender=None, einfo=None, **kwargs):
    # The exception's type and where it was raised, not its text: a driver's error may quote
    # the row's values (a phone, an ID number). Celery's own log line has the rest.
    tb = exception.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb else "?"
    logger.error(
        "task %s failed (id %s): %s at %s",
        getattr(sender, "name", sender),
        task_id,
        type(exception).__name__,
        where,
    )


def _use_celery_logging(**kwargs):
    """In a worker or beat, Celery's own handlers (its format, its --logfile) write the app's
    lines too: the app's stderr handler would write them a second time, through Celery's
    redirection of stderr."""
    crm_logger = logging.getLogger("crm")
    for handler in [h for h in crm_logger.handlers if getattr(h, "crm_handler", False)]:
        crm_logger.removeHandler(handler)


def _connect_task_log() -> None:
    """Celery's signals are process-wide; connected once, whatever the number of apps."""
    # Sent by `celery worker` and `celery beat` only (not by an embedded test worker).
    signals.celeryd_init.connect(
        _use_celery_logging, weak=False, dispatch_uid="crm.use_celery_logging"
    )
    signals.beat_init.connect(
        _use_celery_logging, weak=False, dispatch_uid="crm.use_celery_logging_beat"
    )
    signals.task_prerun.connect(_task_started, weak=False, dispatch_uid="crm.task_started")
    signals.task_postrun.connect(_task_ended, weak=False, dispatch_uid="crm.task_ended")
    signals.task_failure.connect(_task_failed, weak=False, dispatch_uid="crm.task_failed")
