"""Production shape (issue 17 point 7): the product installed from its own files alone into a
fresh virtualenv (no dev extras), and from it two gunicorn servers, two workers (one per kind of
queue) and beat, each with an instance folder of its own (no shared disk), against a database
made for the test on the PostgreSQL server, a Redis of its own and the S3 server:

- a scan uploaded through server A is indexed by the interactive worker, downloaded through
  server B with the same SHA-256, and flagged by the integrity sweep on the other worker after
  its bytes were changed in the bucket;
- a second beat started beside the first schedules nothing: a 1-second schedule entry is sent
  once a second, by the first beat alone, and by the second only after the first is killed.

Needs PostgreSQL (CRM_DATABASE_URL), the redis-server program and moto[server]; else skipped.
Every process is started in a session of its own and killed with its group in teardown."""

import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.engine import make_url

from tests import factories, s3server
from tests.conftest import DATABASE_URL, IS_POSTGRES, TestConfig
from tests.faults.conftest import wait_for

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
HEARTBEAT_SECONDS = 1.0
LOCK_TIMEOUT = 8  # seconds before a standby beat takes over from a dead one
SCAN = b"%PDF-1.4 a customer's signed agreement, scanned on machine A"
COPY_IGNORED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "node_modules",
    "instance",
    "build",
    "__pycache__",
    "*.egg-info",
    ".pytest_cache",
    ".ruff_cache",
    "test-results",
    "bench-results*",
)


@pytest.fixture(scope="module")
def services_present():
    if not IS_POSTGRES:
        pytest.skip("cluster: needs PostgreSQL (CRM_DATABASE_URL)")
    if not shutil.which("redis-server"):
        pytest.skip("cluster: needs the redis-server program")
    if not s3server.available():
        pytest.skip("cluster: needs moto[server] (the dev extra)")


@pytest.fixture(scope="module")
def product(services_present, tmp_path_factory):
    """A virtualenv with the product installed from a copy of its files, without dev extras
    (the prod extra brings gunicorn); pip's cache is reused."""
    folder = tmp_path_factory.mktemp("product")
    source = folder / "src"
    shutil.copytree(ROOT, source, ignore=COPY_IGNORED)
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"{source}[prod]",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    shutil.rmtree(source)  # the processes import the installed package, nothing else
    return venv / "bin"


class Cluster:
    def __init__(self, folder: Path, bin_dir: Path):
        self.folder, self.bin, self.procs = folder, bin_dir, {}
        self.s3 = None
        self.database = f"crm_cluster_{os.getpid()}"
        url = make_url(DATABASE_URL)
        self.admin_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.db_url = url.set(database=self.database).render_as_string(hide_password=False)

    # --- services --------------------------------------------------------------------------
    def create_database(self):
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.database}"')

    def drop_database(self):
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def start_redis(self):
        port = s3server.free_port()
        self.redis_url = f"redis://127.0.0.1:{port}"
        self.start(
            "redis",
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            self.folder,
            os.environ,
        )
        import redis

        client = redis.Redis(port=port, socket_connect_timeout=1)

        def ping():
            try:
                return client.ping()
            except redis.RedisError:
                return False

        wait_for(ping, 20, "redis-server")
        self.redis_client = client

    def start_s3(self):
        self.s3 = s3server.S3Server().start(log=self.folder / "moto.log")
        self.bucket = self.s3.new_bucket()

    # --- the product's processes -----------------------------------------------------------
    def environ(self, name: str) -> dict:
        instance = self.folder / name
        instance.mkdir(exist_ok=True)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CRM_", "PYTHON", "VIRTUAL_ENV"))
        }
        return {
            **env,
            **self.s3.environ(self.bucket),
            "PATH": f"{self.bin}:{env.get('PATH', '')}",
            "CRM_INSTANCE_DIR": str(instance),
            "CRM_DATABASE_URL": self.db_url,
            "CRM_BROKER_URL": f"{self.redis_url}/0",
            "CRM_RESULT_BACKEND": f"{self.redis_url}/1",
            "CRM_SECRET_KEY": self.keys["SECRET_KEY"],
            "CRM_FIELD_ENCRYPTION_KEY": self.keys["FIELD_ENCRYPTION_KEY"],
            "CRM_LOOKUP_HASH_KEY": self.keys["LOOKUP_HASH_KEY"],
            "CRM_SECURE_COOKIES": "0",
            "CRM_BEAT_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
            "CRM_BEAT_LOCK_TIMEOUT": str(LOCK_TIMEOUT),
        }

    def start(self, name, command, cwd, env):
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 (closed in stop_all)
        proc = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        proc.log = log
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def product_process(self, name: str, *args: str):
        env = self.environ(name)
        return self.start(name, [str(self.bin / args[0]), *args[1:]], env["CRM_INSTANCE_DIR"], env)

    def web(self, name: str) -> str:
        port = s3server.free_port()
        self.product_process(
            name,
            "gunicorn",
            "-w",
            "1",
            "--threads",
            "4",
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
            "crm:create_app()",
        )
        return f"http://127.0.0.1:{port}"

    def worker(self, name: str, queues: str):
        self.product_process(
            name,
            "celery",
            "-A",
            "crm.tasks.worker",
            "worker",
            "-Q",
            queues,
            "-n",
            f"{name}@%h",
            "--pool=solo",
            "--loglevel=INFO",
        )

    def beat(self, name: str):
        self.product_process(name, "celery", "-A", "crm.tasks.worker", "beat", "--loglevel=INFO")

    def kill(self, name: str):
        proc = self.procs[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)

    def stop_all(self):
        for proc in list(self.procs.values()):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for name, proc in list(self.procs.items()):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.1, deadline - time.monotonic()))
            self.kill(name)
            proc.log.close()
        if self.s3:
            self.s3.stop()

    def alive(self, name: str) -> bool:
        proc = self.procs[name]
        if proc.poll() is not None:
            raise AssertionError(f"{name} exited with {proc.returncode}:\n{self.log(name)[-4000:]}")
        return True


@pytest.fixture(scope="module")
def cluster(product, tmp_path_factory, app):
    from flask_migrate import upgrade

    from crm import create_app
    from crm.extensions import db

    folder = tmp_path_factory.mktemp("cluster")
    c = Cluster(folder, product)
    c.keys = {
        "SECRET_KEY": uuid.uuid4().hex * 2,
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "LOOKUP_HASH_KEY": uuid.uuid4().hex * 2,
    }
    try:
        c.create_database()
        c.start_redis()
        c.start_s3()
        # The operator's side, from the source tree: migrations and the staff.
        c.app = create_app(
            {
                **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
                **c.keys,
                **c.s3.config(c.bucket),
                "SQLALCHEMY_DATABASE_URI": c.db_url,
                "BROKER_URL": f"{c.redis_url}/0",
                "RESULT_BACKEND": f"{c.redis_url}/1",
                "ARCHIVE_ROOT": str(folder / "operator-archive"),
            }
        )
        app.extensions["celery"].set_current()  # the suite's other tests keep their app
        app.extensions["celery"].set_default()
        with c.app.app_context():
            upgrade(directory=str(ROOT / "migrations"), revision="heads")
            c.world = factories.create_world()
            c.ids = {name: getattr(c.world, name).id for name in ("am1", "rm_east", "c1")}
            db.session.commit()
            db.session.remove()
        c.web_a, c.web_b = c.web("web-a"), c.web("web-b")
        c.worker("worker-interactive", "interactive")
        c.worker("worker-sweeps", "sweeps,mail")
        c.beat("beat-1")
        for url in (c.web_a, c.web_b):
            wait_for(lambda u=url: healthy(u), 90, f"{url}/healthz")
        for name in ("worker-interactive", "worker-sweeps"):
            wait_for(lambda n=name: c.alive(n) and "ready." in c.log(n), 90, f"{name} ready")
        yield c
    finally:
        c.stop_all()
        with contextlib.suppress(Exception), c.app.app_context():
            db.session.remove()
            db.engine.dispose()
        with contextlib.suppress(Exception):
            c.drop_database()


def healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=3).status_code == 200
    except requests.RequestException:
        return False


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def sign_in(base: str, username: str) -> requests.Session:
    s = requests.Session()
    token = CSRF.search(s.get(f"{base}/login", timeout=30).text).group(1)
    r = s.post(
        f"{base}/login",
        data={"username": username, "password": factories.PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 302, r.text[:1000]
    s.headers["X-CSRFToken"] = token
    return s


def in_db(cluster, query):
    from crm.extensions import db

    with cluster.app.app_context():
        try:
            return query(db.session)
        finally:
            db.session.remove()


def test_a_scan_travels_through_two_servers_two_workers_and_the_bucket(cluster):
    from crm.access import set_actor
    from crm.archives import services
    from crm.archives.models import ArchiveDocument, ArchiveFlag
    from crm.auth.models import User

    am1 = sign_in(cluster.web_a, "am1")
    new = am1.post(
        f"{cluster.web_a}/admin/archive_document/new/",
        data={
            "client": str(cluster.ids["c1"]),
            "category": "debts",
            "title": "还款协议",
            "doc_date": "2026-10-08",
            "pages": "3",
            "form": "both",
            "customer_signed": "y",
            "handler": "张三",
            "room": "A1",
            "cabinet": "2",
            "shelf": "3",
            "box": "4",
        },
        files={"upload": ("agreement.pdf", SCAN, "application/pdf")},
        allow_redirects=False,
        timeout=60,
    )
    assert new.status_code == 302, new.text[:2000]
    doc_id = in_db(cluster, lambda s: s.scalars(select(ArchiveDocument.id)).one())

    def approve(session):  # the leader's approval (its screen is tested elsewhere)
        set_actor(session.get(User, cluster.ids["rm_east"]))
        services.approve_document(session, session.get(ArchiveDocument, doc_id))
        session.commit()

    in_db(cluster, approve)
    filed = am1.post(
        f"{cluster.web_a}/admin/archive_document/file/",
        data={"id": doc_id},
        allow_redirects=False,
        timeout=60,
    )
    assert filed.status_code == 302

    def indexed(session):
        doc = session.get(ArchiveDocument, doc_id)
        return doc if doc.storage_path and doc.sha256 else None

    doc = wait_for(lambda: in_db(cluster, indexed), 90, "the worker to index the upload")
    assert doc.sha256 == hashlib.sha256(SCAN).hexdigest()
    # "Task <name>[<id>] received": the banner lists every task's name, not with an id
    assert "crm.tasks.archives.index_document[" in cluster.log("worker-interactive")
    # In the bucket, and on no machine's disk.
    stored = (
        cluster.s3.client()
        .get_object(Bucket=cluster.bucket, Key=f"archive/{doc.storage_path}")["Body"]
        .read()
    )
    assert stored == SCAN
    for name in ("web-a", "web-b", "worker-interactive", "worker-sweeps"):
        assert not [p for p in (cluster.folder / name).rglob("*.pdf")], name

    download = sign_in(cluster.web_b, "am1").get(
        f"{cluster.web_b}/admin/archive_document/download/?id={doc_id}", timeout=60
    )
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == doc.sha256

    # Someone changes the bytes in the bucket; the nightly sweep runs on the sweeps worker.
    cluster.s3.client().put_object(
        Bucket=cluster.bucket,
        Key=f"archive/{doc.storage_path}",
        Body=b"%PDF-1.4 altered behind the archive's back",
    )
    with cluster.app.app_context():
        cluster.app.extensions["celery"].send_task(
            "crm.tasks.archives.nightly_integrity", queue="sweeps"
        )

    def flagged(session):
        return session.scalars(
            select(ArchiveFlag.kind)
            .where(ArchiveFlag.document_id == doc_id)
            .execution_options(crm_unscoped=True)
        ).all()

    assert wait_for(lambda: in_db(cluster, flagged), 90, "the integrity flag") == [
        "checksum_changed"
    ]
    assert "crm.tasks.archives.nightly_integrity[" in cluster.log("worker-sweeps")
    assert "crm.tasks.archives.nightly_integrity[" not in cluster.log("worker-interactive")
    assert "crm.tasks.archives.index_document[" not in cluster.log("worker-sweeps")


SENT = "Sending due task heartbeat"


def test_a_second_beat_schedules_nothing_twice(cluster):
    wait_for(
        lambda: cluster.alive("beat-1") and cluster.log("beat-1").count(SENT) >= 2,
        60,
        "the first beat to send",
    )
    cluster.beat("beat-2")
    wait_for(
        lambda: cluster.alive("beat-2") and "beat: Starting" in cluster.log("beat-2"),
        60,
        "the second beat to start",
    )
    before = cluster.log("beat-1").count(SENT)
    window = 12.0
    time.sleep(window)
    sent_by_first = cluster.log("beat-1").count(SENT) - before
    assert cluster.log("beat-2").count(SENT) == 0, cluster.log("beat-2")[-2000:]
    # once per HEARTBEAT_SECONDS, not twice: the first beat alone sends
    assert window / HEARTBEAT_SECONDS / 2 <= sent_by_first <= window / HEARTBEAT_SECONDS + 2
    # The enqueued runs, counted where they land: the heartbeat's lock records each run.
    from crm.governance.models import TaskRun

    runs = in_db(cluster, lambda s: s.get(TaskRun, "heartbeat").runs)
    total_sent = cluster.log("beat-1").count(SENT)
    assert runs <= total_sent

    # The first beat dies without a word: the second takes over, from the same schedule.
    cluster.kill("beat-1")
    wait_for(
        lambda: cluster.alive("beat-2") and cluster.log("beat-2").count(SENT) >= 3,
        LOCK_TIMEOUT + 30,
        "the second beat to take over",
    )
