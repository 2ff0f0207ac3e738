"""The Celery wiring, run for real: a worker thread consumes from the configured broker (kombu's
SQLAlchemy transport on SQLite by default, Redis when CRM_BROKER_URL says so) and writes to the
test database."""

import os
import subprocess
import sys

import celery.contrib.testing.tasks  # noqa: F401  (registers celery.ping, which start_worker sends)
import pytest
from celery.contrib.testing.worker import start_worker

from crm.extensions import db
from crm.governance.models import TaskRun
from crm.tasks.maintenance import heartbeat

HEARTBEAT = "crm.tasks.maintenance.heartbeat"


@pytest.mark.worker
def test_heartbeat_is_executed_by_a_real_worker(app, celery_app):
    with start_worker(celery_app, pool="solo", shutdown_timeout=30):
        heartbeat.delay().get(timeout=60)
        finished = heartbeat.delay().get(timeout=60)

    # Only a task run inside the app's context can reach db.session at all.
    with app.app_context():
        run = db.session.get(TaskRun, "heartbeat")
        assert run is not None
        assert run.runs == 2
        assert run.finished_at.isoformat() == finished


def test_beat_schedules_the_heartbeat(celery_app):
    entry = celery_app.conf.beat_schedule["heartbeat"]
    assert entry["task"] == HEARTBEAT
    assert entry["schedule"] == 60.0
    assert HEARTBEAT in celery_app.tasks


def test_a_task_whose_worker_dies_is_delivered_again(celery_app):
    conf = celery_app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1


def test_the_embedded_default_needs_no_broker_server(tmp_path):
    # A fresh interpreter: crm.config reads the environment once, at import.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CRM_BROKER_URL", "CRM_RESULT_BACKEND", "CRM_DATABASE_URL")
    }
    env["CRM_INSTANCE_DIR"] = str(tmp_path)
    code = (
        "from crm import create_app\n"
        "celery_app = create_app().extensions['celery']\n"
        "print(celery_app.conf.broker_url)\n"
        "print(celery_app.conf.result_backend)\n"
        "print(type(celery_app.connection().transport).__module__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [
        f"sqla+sqlite:///{tmp_path / 'celery-broker.sqlite'}",
        f"db+sqlite:///{tmp_path / 'celery-results.sqlite'}",
        "kombu.transport.sqlalchemy",
    ]
