"""Every task's start, end (with its duration) and failure is logged (issue 13 point 6), run
eagerly and by a real worker."""

import logging
from datetime import timedelta

import celery.contrib.testing.tasks  # noqa: F401  (registers celery.ping, which start_worker sends)
import pytest
from celery.contrib.testing.worker import start_worker

from crm.extensions import db
from crm.tasks.cards import daily as cards_daily
from crm.tasks.governance import destroy_expired_deletions
from crm.tasks.maintenance import heartbeat

TASK_LOG = "crm.tasks"


def task_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == TASK_LOG]


def lines(caplog, name: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == name]


def test_a_task_run_eagerly_logs_its_start_and_end_with_the_duration(celery_app, caplog):
    with caplog.at_level(logging.INFO, logger="crm"):
        result = heartbeat.apply()
    assert result.successful()
    started, ended = task_lines(caplog)
    assert started.getMessage() == f"task crm.tasks.maintenance.heartbeat started (id {result.id})"
    assert ended.getMessage().startswith("task crm.tasks.maintenance.heartbeat ended SUCCESS in ")
    assert ended.getMessage().endswith(f"ms (id {result.id})")
    assert ended.duration_ms >= 0
    # Records logged inside a task carry its id, as those of a request carry the request's.
    assert started.request_id == ended.request_id == result.id


def test_a_failing_task_logs_its_failure_without_its_arguments(celery_app, caplog):
    with caplog.at_level(logging.INFO, logger="crm"):
        result = cards_daily.apply(args=("13912345678",))  # not a date
    assert result.failed()
    started, failed, ended = task_lines(caplog)
    assert started.getMessage().startswith("task crm.tasks.cards.daily started")
    assert failed.levelno == logging.ERROR
    assert failed.getMessage().startswith(
        f"task crm.tasks.cards.daily failed (id {result.id}): ValueError at "
    )
    assert "crm/tasks/cards.py:" in failed.getMessage()  # where it was raised
    assert "13912345678" not in failed.getMessage()
    assert ended.getMessage().startswith("task crm.tasks.cards.daily ended FAILURE in ")


# Issue 18 point 5: each task then says what it did, with its counts, on its own logger.
def test_a_task_run_logs_its_summary_with_counts(celery_app, caplog):
    with caplog.at_level(logging.INFO, logger="crm"):
        result = cards_daily.apply(args=("2026-03-02",))
    assert result.successful(), result.traceback
    assert lines(caplog, "crm.tasks.cards") == ["cards daily: 0 reminded, 0 expired"]
    [summary] = [r for r in caplog.records if r.name == "crm.tasks.cards"]
    assert summary.levelno == logging.INFO
    assert summary.request_id == result.id  # the task's id, as on every line inside it


def test_the_retention_sweep_logs_each_destruction_and_its_count(celery_app, world, caplog):
    from crm.governance.retention import APPROVED, ask_deletion
    from crm.timeutil import utcnow

    client_id, name = world.c1.id, world.c1.name
    request = ask_deletion(db.session, [world.c1], "重复录入")  # the system deletes at once
    assert request.status == APPROVED
    request.deleted_at = utcnow() - timedelta(days=400)
    db.session.commit()
    with caplog.at_level(logging.INFO, logger="crm"):
        result = destroy_expired_deletions.apply()
    assert result.successful(), result.traceback
    assert lines(caplog, "crm.tasks.governance") == ["retention sweep: 1 deletions destroyed"]
    [destroyed] = lines(caplog, "crm.governance.retention")[:1]
    assert destroyed.startswith(f"deletion request {request.id} destroyed (clients {client_id})")
    assert name not in caplog.text  # ids and counts, never a customer's name


@pytest.mark.worker
def test_a_real_worker_logs_start_and_end(app, celery_app, caplog):
    with (
        caplog.at_level(logging.INFO, logger="crm"),
        start_worker(celery_app, pool="solo", shutdown_timeout=30),
    ):
        result = heartbeat.delay()
        result.get(timeout=60)
    messages = [r.getMessage() for r in task_lines(caplog)]
    assert f"task crm.tasks.maintenance.heartbeat started (id {result.id})" in messages
    assert any(
        m.startswith("task crm.tasks.maintenance.heartbeat ended SUCCESS in ")
        and m.endswith(f"(id {result.id})")
        for m in messages
    )


def test_in_a_worker_celery_writes_the_app_lines_once(app):
    """`celery worker` sets up its own handlers and redirects stderr to its log: the app's
    stderr handler would repeat every line, wrapped as a WARNING."""
    from celery import signals

    crm_logger = logging.getLogger("crm")
    ours = [h for h in crm_logger.handlers if getattr(h, "crm_handler", False)]
    assert ours
    try:
        signals.celeryd_init.send(sender="worker@test", instance=None, conf=None, options={})
        assert not [h for h in crm_logger.handlers if getattr(h, "crm_handler", False)]
    finally:
        for handler in ours:
            crm_logger.addHandler(handler)
