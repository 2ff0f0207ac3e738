"""Settings: defaults for the embedded install, overridden by CRM_* environment variables."""

import os
from pathlib import Path

INSTANCE_DIR = Path(os.environ.get("CRM_INSTANCE_DIR", Path.cwd() / "instance")).resolve()


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"CRM_{name}", default)


def _sqlite_url(filename: str) -> str:
    return f"sqlite:///{INSTANCE_DIR / filename}"


class Config:
    SECRET_KEY = _env("SECRET_KEY", "dev-only-secret-change-me")
    # Separate keys so that rotating the session key does not make ID numbers unreadable.
    FIELD_ENCRYPTION_KEY = _env("FIELD_ENCRYPTION_KEY")
    LOOKUP_HASH_KEY = _env("LOOKUP_HASH_KEY")

    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", _sqlite_url("crm.sqlite"))
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    # No broker server in the embedded default: kombu's SQLAlchemy transport on a SQLite file.
    BROKER_URL = _env("BROKER_URL", "sqla+" + _sqlite_url("celery-broker.sqlite"))
    RESULT_BACKEND = _env("RESULT_BACKEND", "db+" + _sqlite_url("celery-results.sqlite"))
    BEAT_SCHEDULE_FILE = _env("BEAT_SCHEDULE_FILE", str(INSTANCE_DIR / "celerybeat-schedule"))
    # Redis redelivers a task that was taken but not acknowledged (acks_late) after this many
    # seconds: a worker killed whole has its task run again after at most this long. It must
    # exceed the longest task (a check of a million customers takes seconds, the nightly
    # sweeps minutes), or a task still running would be delivered to a second worker as well.
    BROKER_VISIBILITY_TIMEOUT = int(_env("BROKER_VISIBILITY_TIMEOUT", "1800"))
    # A live run whose last committed chunk is older than this is shown as stalled, with resume.
    TASK_STALE_MINUTES = float(_env("TASK_STALE_MINUTES", "10"))
    CREDIT_CHECK_CHUNK = int(_env("CREDIT_CHECK_CHUNK", "20000"))  # customer ids per commit

    ARCHIVE_ROOT = _env("ARCHIVE_ROOT", str(INSTANCE_DIR / "archive"))
    MAIL_DIR = _env("MAIL_DIR", str(INSTANCE_DIR / "outbox"))

    TIMEZONE = _env("TIMEZONE", "Asia/Shanghai")
    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = TIMEZONE
    LANGUAGES = {"zh_Hans_CN": "简体中文", "en": "English"}

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env("SECURE_COOKIES", "0") == "1"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session: staff keep tabs open

    LOGIN_MAX_FAILURES = int(_env("LOGIN_MAX_FAILURES", "5"))
    LOGIN_LOCK_MINUTES = int(_env("LOGIN_LOCK_MINUTES", "15"))

    FLASK_ADMIN_SWATCH = "cerulean"
    FLASK_ADMIN_RAISE_ON_VIEW_EXCEPTION = False
    ADMIN_PAGE_SIZE = 20
    TESTING = False


class TestConfig(Config):
    TESTING = True
    WTF_CSRF_ENABLED = False
    PASSWORD_HASH_FAST = True  # argon2 at minimum cost keeps the suite quick; same code path


def load_config(app, config) -> None:
    app.config.from_object(Config)
    if config is None:
        return
    if isinstance(config, dict):
        app.config.update(config)
    else:
        app.config.from_object(config)
