"""Every task's start, end (with its duration) and failure is logged (issue 13 point 6), run
eagerly and by a real worker."""

import logging

import celery.contrib.testing.tasks  # noqa: F401  (registers celery.ping, which start_worker sends)
import pytest
from celery.contrib.testing.worker import start_worker

from crm.tasks.cards import daily as cards_daily
from crm.tasks.maintenance import heartbeat

TASK_LOG = "crm.tasks"


def task_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == TASK_LOG]


def test_a_task_run_eagerly_logs_its_start_and_end_with_the_duration(celery_app, caplog):
    with caplog.at_level(logging.INFO, logger="crm"):
        result = heartbeat.apply()
    assert result.successful()
    started, ended = task_lines(caplog)
    assert started.getMessage() == \
        f"task crm.tasks.maintenance.heartbeat started (id {result.id})"
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
        f"task crm.tasks.cards.daily failed (id {result.id}): ValueError at ")
    assert "crm/tasks/cards.py:" in failed.getMessage()  # where it was raised
    assert "13912345678" not in failed.getMessage()
    assert ended.getMessage().startswith("task crm.tasks.cards.daily ended FAILURE in ")


@pytest.mark.worker
def test_a_real_worker_logs_start_and_end(app, celery_app, caplog):
    with caplog.at_level(logging.INFO, logger="crm"), \
            start_worker(celery_app, pool="solo", shutdown_timeout=30):
        result = heartbeat.delay()
        result.get(timeout=60)
    messages = [r.getMessage() for r in task_lines(caplog)]
    assert f"task crm.tasks.maintenance.heartbeat started (id {result.id})" in messages
    assert any(m.startswith("task crm.tasks.maintenance.heartbeat ended SUCCESS in ")
               and m.endswith(f"(id {result.id})") for m in messages)


def test_in_a_worker_celery_writes_the_app_lines_once(app):
    """`celery worker` sets up its own handlers and redirects stderr to its log: the app's
    stderr handler would repeat every line, wrapped as a WARNING."""
    from celery import signals

    crm_logger = logging.getLogger("crm")
    ours = [h for h in crm_logger.handlers if getattr(h, "crm_handler", False)]
    assert ours
    try:
        signals.celeryd_init.send(sender="worker@test", instance=None, conf=None,
                                  options={})
        assert not [h for h in crm_logger.handlers if getattr(h, "crm_handler", False)]
    finally:
        for handler in ours:
            crm_logger.addHandler(handler)
