"""Builds the app once per test session on a fresh database (SQLite by default, PostgreSQL when
CRM_DATABASE_URL says so), migrated with Alembic exactly as production is, and empties every
table after each test."""

import os
import secrets
import tempfile
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

_TMP = Path(tempfile.mkdtemp(prefix="crm-tests-"))
os.environ.setdefault("CRM_INSTANCE_DIR", str(_TMP))
# The app refuses to start without its keys: keys of this run, set before crm.config is read,
# which TestConfig takes and every process a test starts (flask CLI, a worker) inherits.
os.environ.setdefault("CRM_SECRET_KEY", secrets.token_urlsafe(32))
os.environ.setdefault("CRM_FIELD_ENCRYPTION_KEY", Fernet.generate_key().decode())
os.environ.setdefault("CRM_LOOKUP_HASH_KEY", secrets.token_urlsafe(32))

from sqlalchemy import text  # noqa: E402

from crm import create_app  # noqa: E402
from crm.config import TestConfig  # noqa: E402
from crm.extensions import db  # noqa: E402
from tests import factories  # noqa: E402

DATABASE_URL = os.environ.get("CRM_DATABASE_URL") or f"sqlite:///{_TMP / 'test.sqlite'}"
BROKER_URL = os.environ.get("CRM_BROKER_URL") or f"sqla+sqlite:///{_TMP / 'broker.sqlite'}"
IS_POSTGRES = DATABASE_URL.startswith("postgresql")


def _reset_schema(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        if IS_POSTGRES:
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(directory=str(Path(__file__).parent.parent / "migrations"), revision="heads")


@pytest.fixture(scope="session")
def app():
    app = create_app(
        {
            **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
            "SQLALCHEMY_DATABASE_URI": DATABASE_URL,
            # Tests need no durability: skip the WAL flush at every commit on PostgreSQL.
            "SQLALCHEMY_ENGINE_OPTIONS": {
                "pool_pre_ping": True,
                "connect_args": {"options": "-c synchronous_commit=off"},
            }
            if IS_POSTGRES
            else {},
            "BROKER_URL": BROKER_URL,
            "RESULT_BACKEND": os.environ.get("CRM_RESULT_BACKEND")
            or (
                "redis://127.0.0.1:6379/1"
                if BROKER_URL.startswith("redis")
                else f"db+sqlite:///{_TMP / 'results.sqlite'}"
            ),
            "ARCHIVE_ROOT": str(_TMP / "archive"),
            "MAIL_DIR": str(_TMP / "outbox"),
        }
    )
    _reset_schema(app)
    return app


@pytest.fixture(autouse=True)
def _clean_tables(app):
    yield
    with app.app_context():
        db.session.remove()
        # DELETE, children first: on a few rows it is far cheaper than TRUNCATE, which rewrites
        # every table's files. Counters keep their rows (migrations seed them) at zero.
        tables = [t.name for t in reversed(db.metadata.sorted_tables) if t.name != "counters"]
        with db.engine.begin() as conn:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
            conn.execute(text("UPDATE counters SET value = 0"))
            if IS_POSTGRES:
                conn.execute(
                    text("SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S'")
                )
    # the tables were emptied behind the ORM: drop what this process cached from them
    from crm.admin import optioncache

    optioncache.clear()


@pytest.fixture
def ctx(app):
    """An app context acting as the system (no signed-in user), like a CLI command."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def login_as(app):
    """login_as(user) -> a test client signed in as that user."""

    def _login(user):
        c = app.test_client()
        r = c.post("/login", data={"username": user.username, "password": factories.PASSWORD})
        assert r.status_code == 302, r.data[:500]
        return c

    return _login


@pytest.fixture
def world(ctx):
    """Two regions; a user of every role; each account manager with customers of their own."""
    return factories.create_world()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """moto's S3 server on a free port for the whole run (issue 17 point 4)."""
    from tests import s3server

    if not s3server.available():
        pytest.skip("needs moto[server] (the dev extra)")
    server = s3server.S3Server().start(log=tmp_path_factory.mktemp("s3") / "moto.log")
    yield server
    server.stop()


@pytest.fixture(params=["local", "s3"])
def archive_storage(request, app, tmp_path, monkeypatch):
    """The archive's storage, once a folder of its own and once a fresh bucket of the S3
    server; the kind's name."""
    monkeypatch.setitem(app.config, "ARCHIVE_ROOT", str(tmp_path / "archive"))
    if request.param == "s3":
        server = request.getfixturevalue("s3_server")
        for key, value in server.config(server.new_bucket()).items():
            monkeypatch.setitem(app.config, key, value)
    return request.param
