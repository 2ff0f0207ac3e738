"""Queues that do not wait for each other and one beat at a time (issue 17 point 5); the
two-beat run itself is in tests/cluster (it needs Redis and separate processes)."""

import os
import subprocess
import sys

import pytest

from crm import create_app
from crm.tasks import INTERACTIVE, MAIL, SWEEPS


def queue_of(celery_app, name: str) -> str:
    return celery_app.amqp.router.route({}, name)["queue"].name


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("crm.tasks.archives.index_document", INTERACTIVE),  # an upload waits for its number
        ("crm.tasks.credit.run_check", INTERACTIVE),  # started from finance's screen
        ("crm.tasks.notifications.send_outbox", MAIL),
        ("crm.tasks.notifications.send_digests", MAIL),
        ("crm.tasks.credit.nightly_check", SWEEPS),
        ("crm.tasks.archives.nightly_integrity", SWEEPS),
        ("crm.tasks.governance.destroy_expired", SWEEPS),
        ("crm.tasks.maintenance.heartbeat", SWEEPS),
    ],
)
def test_each_task_has_its_queue(celery_app, task, queue):
    assert task in celery_app.tasks
    assert queue_of(celery_app, task) == queue


def test_a_worker_without_queues_takes_all_three(celery_app):
    # The embedded default runs one worker with no -Q: it must consume every routed queue.
    assert {q.name for q in celery_app.conf.task_queues} == {INTERACTIVE, SWEEPS, MAIL}
    assert celery_app.conf.task_default_queue == SWEEPS


def test_beat_uses_redbeat_only_with_redis(app):
    embedded = create_app(
        {**app.config, "BROKER_URL": "sqla+sqlite:///x.sqlite", "BEAT_REDIS_URL": None}
    ).extensions["celery"]
    assert embedded.conf.beat_scheduler == "celery.beat:PersistentScheduler"
    clustered = create_app(
        {**app.config, "BROKER_URL": "redis://127.0.0.1:6379/9", "BEAT_LOCK_TIMEOUT": 30}
    ).extensions["celery"]
    assert clustered.conf.beat_scheduler == "redbeat.RedBeatScheduler"
    assert clustered.conf.redbeat_redis_url == "redis://127.0.0.1:6379/9"
    assert clustered.conf.redbeat_lock_timeout == 30
    # the lock is extended at every tick, so a tick must come well inside its timeout
    assert clustered.conf.beat_max_loop_interval * 3 < clustered.conf.redbeat_lock_timeout
    app.extensions["celery"].set_current()
    app.extensions["celery"].set_default()


def test_a_worker_machine_imports_the_redis_transport_from_its_own_dependencies():
    # kombu's Redis transport imports packaging; celery[redis] brings it (issue 17 point 6).
    code = "import kombu.transport.redis, packaging, redbeat, boto3; print('ok')"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, check=False
    )
    assert out.stdout.strip() == "ok", out.stderr
