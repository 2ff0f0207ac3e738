"""Periodic tasks cannot overlap (issue 13 point 2; DESIGN: "Periodic tasks carry a lock against
overlapping runs"): a run that finds its task's lock held by a live run is skipped and does
nothing; a dead run's stale lock is taken over; the lock is given back after a failure; every
task beat schedules is locked. On SQLite (the default) and PostgreSQL (CRM_DATABASE_URL)."""

import importlib
import logging
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.governance.models import TaskLock, TaskRun
from crm.tasks import BEAT_SCHEDULE, TASK_MODULES
from crm.tasks import cards as card_tasks
from crm.tasks.cards import daily as cards_daily
from crm.tasks.locks import acquire, locked_task
from crm.tasks.maintenance import heartbeat
from crm.timeutil import utcnow

LOCK_LOG = "crm.tasks.locks"


def hold(name, holder="other-worker:4242", minutes_ago=0.0):
    """A lock row as another worker leaves it: taken, its last sign of life minutes ago."""
    at = utcnow() - timedelta(minutes=minutes_ago)
    db.session.add(TaskLock(name=name, holder=holder, acquired_at=at, heartbeat_at=at))
    db.session.commit()


def lock_row(name):
    db.session.expire_all()
    return db.session.get(TaskLock, name)


def skipped_lines(caplog, name):
    return [
        r
        for r in caplog.records
        if r.name == LOCK_LOG
        and r.getMessage().startswith(f"task {name} skipped: another run holds its lock")
    ]


def test_a_run_that_finds_the_lock_held_is_skipped_and_does_nothing(ctx, caplog):
    hold("heartbeat", minutes_ago=1)
    with caplog.at_level(logging.INFO, logger="crm"):
        assert heartbeat() is None
    assert db.session.get(TaskRun, "heartbeat") is None  # the task's body never ran
    [line] = skipped_lines(caplog, "heartbeat")
    assert line.levelno == logging.WARNING and "other-worker:4242" in line.getMessage()
    assert lock_row("heartbeat").holder == "other-worker:4242"  # still the other's

    db.session.get(TaskLock, "heartbeat").holder = None  # the other run ends
    db.session.commit()
    assert heartbeat() is not None
    assert db.session.get(TaskRun, "heartbeat").runs == 1
    assert lock_row("heartbeat").holder is None  # given back


def test_two_concurrent_runs_of_the_same_task_the_second_is_skipped(app, monkeypatch):
    """Threads, each with its own app context and connection, as two workers would be."""
    entered, finish, calls = threading.Event(), threading.Event(), []

    def slow_sweep(session, today):
        calls.append(today)
        entered.set()
        assert finish.wait(30)
        return {"reminded": 0, "expired": 0}

    monkeypatch.setattr(card_tasks, "run_daily", slow_sweep)
    results = {}

    def first():
        with app.app_context():
            results["first"] = cards_daily()
            db.session.remove()

    worker = threading.Thread(target=first)
    worker.start()
    try:
        assert entered.wait(30)
        with app.app_context():
            assert lock_row("cards_daily").holder is not None
            results["second"] = cards_daily()  # while the first one still runs
            db.session.remove()
    finally:
        finish.set()
        worker.join(30)
    assert results == {"first": {"reminded": 0, "expired": 0}, "second": None}
    assert len(calls) == 1
    with app.app_context():
        assert db.session.get(TaskRun, "cards_daily").runs == 1
        assert lock_row("cards_daily").holder is None
        db.session.remove()


def test_of_many_runs_taking_a_new_lock_at_once_exactly_one_gets_it(app):
    """The race on a name never seen before: all try to create its row at the same moment."""
    n = 6
    barrier, tokens = threading.Barrier(n), []

    def contend():
        with app.app_context():
            engine = db.engine
            barrier.wait(30)
            tokens.append(acquire(engine, "race", 10))

    threads = [threading.Thread(target=contend) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(tokens) == n
    assert len([t for t in tokens if t]) == 1
    with app.app_context():
        assert lock_row("race").holder == next(t for t in tokens if t)
        db.session.remove()


def test_a_stale_lock_is_taken_over(ctx, app, caplog):
    minutes = app.config["TASK_STALE_MINUTES"]
    hold("heartbeat", holder="dead-worker:1", minutes_ago=minutes * 0.9)  # not yet stale
    assert heartbeat() is None
    assert db.session.get(TaskRun, "heartbeat") is None

    lock_row("heartbeat").heartbeat_at = utcnow() - timedelta(minutes=minutes + 1)
    db.session.commit()
    with caplog.at_level(logging.INFO, logger="crm"):
        assert heartbeat() is not None
    assert db.session.get(TaskRun, "heartbeat").runs == 1
    assert any(
        r.name == LOCK_LOG
        and r.getMessage().startswith("task lock heartbeat taken over: its holder dead-worker:1")
        for r in caplog.records
    )
    assert lock_row("heartbeat").holder is None


def test_the_lock_is_given_back_after_a_failure(ctx, celery_app):
    result = cards_daily.apply(args=("not a date",))
    assert result.failed()
    assert lock_row("cards_daily").holder is None
    assert db.session.get(TaskRun, "cards_daily") is None  # a failed run is not recorded
    assert cards_daily() == {"reminded": 0, "expired": 0}  # the next run is not kept out
    assert db.session.get(TaskRun, "cards_daily").runs == 1


def test_a_live_run_keeps_its_lock_fresh_however_long_it_takes(app):
    """Only a dead run's lock grows stale: the holder's heartbeat refreshes it meanwhile."""
    seen = {}

    @locked_task("long-sweep", stale_after=0.02)  # stale after 1.2 s; a heartbeat every 1 s
    def long_sweep():
        time.sleep(2.5)
        with app.app_context():
            seen["row"] = lock_row("long-sweep")
            seen["second"] = acquire(db.engine, "long-sweep", 0.02)
            db.session.remove()
        return {}

    with app.app_context():
        long_sweep()
        db.session.remove()
    row = seen["row"]
    assert row.heartbeat_at > row.acquired_at + timedelta(seconds=0.9)
    assert seen["second"] is None  # 2.5 s after it was taken, yet not stale


def test_every_task_beat_schedules_is_locked(ctx, celery_app, caplog):
    for module in TASK_MODULES:  # as the worker does at its start
        importlib.import_module(module)
    names = {}
    for entry in BEAT_SCHEDULE.values():
        task = celery_app.tasks[entry["task"]]
        name = getattr(task.run, "lock_name", None)
        assert name, f"{entry['task']} runs without a lock"
        names[entry["task"]] = name
    assert len(set(names.values())) == len(names)  # a lock of its own each

    for task_name, name in names.items():
        hold(name)
        with caplog.at_level(logging.INFO, logger="crm"):
            result = celery_app.tasks[task_name].apply()
        assert result.successful() and result.result is None, task_name
        assert skipped_lines(caplog, name), task_name
    assert db.session.scalars(select(TaskRun.name)).all() == []


@pytest.mark.parametrize("stale_after", [None, 30])
def test_the_stale_time_is_the_setting_or_the_task_own(app, stale_after):
    @locked_task("tuned", stale_after=stale_after)
    def tuned():
        return {}

    with app.app_context():
        hold("tuned", minutes_ago=app.config["TASK_STALE_MINUTES"] + 1)
        ran = tuned()
        db.session.remove()
    assert (ran == {}) is (stale_after is None)
