"""The fault suite's own services: a Redis server on a free port (stopped and started again by
the tests) and Celery worker subprocesses on it, against the session's database. Every process
started here is killed in a finally, whatever the test did."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from celery import Celery
from cryptography.fernet import Fernet

from crm.tasks import SWEEPS, TASK_ROUTES
from tests.conftest import DATABASE_URL, IS_POSTGRES

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY_TIMEOUT = 6  # seconds: the redelivery of a killed worker's task, for the test
STALE_MINUTES = 0.08  # about 5 s without a committed chunk


def needs_postgres_and_redis():
    if not IS_POSTGRES:
        pytest.skip(
            "fault suite: needs PostgreSQL (set CRM_DATABASE_URL); the workers run in "
            "processes of their own, which the embedded SQLite cannot serve at once"
        )
    if not shutil.which("redis-server"):
        pytest.skip("fault suite: needs the redis-server program to start a Redis of its own")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class RedisServer:
    """Persistent (append-only file, fsync on every write) so that a restart keeps the queues
    and the unacknowledged tasks, as a production Redis does."""

    def __init__(self, folder: Path):
        self.folder, self.port, self.proc = folder, free_port(), None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self):
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        wait_for(lambda: self._ping(client), 15, "redis-server to answer")

    @staticmethod
    def _ping(client):
        try:
            return client.ping()
        except redis.RedisError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class Workers:
    def __init__(self, app, redis_server: RedisServer, folder: Path):
        self.redis, self.folder, self.procs = redis_server, folder, []
        secret = app.config["SECRET_KEY"]
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CRM_")},
            "PYTHONPATH": str(ROOT),
            "CRM_DATABASE_URL": DATABASE_URL,
            "CRM_BROKER_URL": f"{redis_server.url}/0",
            "CRM_RESULT_BACKEND": f"{redis_server.url}/1",
            "CRM_BROKER_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
            "CRM_TASK_STALE_MINUTES": str(STALE_MINUTES),
            "CRM_CREDIT_CHECK_CHUNK": "1",
            "CRM_INSTANCE_DIR": str(folder),
            "CRM_MAIL_DIR": app.config["MAIL_DIR"],
            "CRM_ARCHIVE_ROOT": app.config["ARCHIVE_ROOT"],
            "CRM_SECRET_KEY": secret,
            "CRM_FIELD_ENCRYPTION_KEY": app.config.get("FIELD_ENCRYPTION_KEY")
            or Fernet.generate_key().decode(),
            "CRM_LOOKUP_HASH_KEY": app.config.get("LOOKUP_HASH_KEY") or secret,
        }

    def start(self, name: str, chunk_pause: float = 0.0) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.worker", name],
            cwd=ROOT,
            env={**self.env, "FAULT_CHUNK_PAUSE": str(chunk_pause)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        proc.log, proc.log_path = log, self.folder / f"{name}.log"
        self.procs.append(proc)
        wait_for(
            lambda: b"ready." in proc.log_path.read_bytes() or proc.poll() is not None,
            60,
            f"worker {name} to be ready",
        )
        assert proc.poll() is None, proc.log_path.read_text()[-3000:]
        return proc

    @staticmethod
    def kill_whole(proc):
        """kill -9 of every process of the worker (its main process and its pool)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop_all(self):
        for proc in self.procs:
            self.kill_whole(proc)
            proc.log.close()


@pytest.fixture
def fault_env(app, tmp_path):
    """(redis server, workers, a client that sends tasks to them); all stopped afterwards."""
    needs_postgres_and_redis()
    server = RedisServer(tmp_path)
    workers = Workers(app, server, tmp_path)
    # The workers' result backend: a test can wait for a task's outcome.
    sender = Celery("faults", broker=f"{server.url}/0", backend=f"{server.url}/1")
    # Routed as the product routes (the queues of crm/tasks/__init__.py): the workers take those.
    sender.conf.update(
        broker_connection_retry_on_startup=True, task_routes=TASK_ROUTES, task_default_queue=SWEEPS
    )
    try:
        server.start()
        yield server, workers, sender
    finally:
        workers.stop_all()
        sender.close()
        server.stop()
        app.extensions["celery"].set_current()
        app.extensions["celery"].set_default()
