"""Settings: defaults for the embedded install, overridden by CRM_* environment variables."""

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

INSTANCE_DIR = Path(os.environ.get("CRM_INSTANCE_DIR", Path.cwd() / "instance")).resolve()


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"CRM_{name}", default)


def _sqlite_url(filename: str) -> str:
    return f"sqlite:///{INSTANCE_DIR / filename}"


class Config:
    # No defaults: create_app refuses to start without them (crm/keys.py), except in the demo.
    SECRET_KEY = _env("SECRET_KEY")
    # Separate keys so that rotating the session key does not make ID numbers unreadable.
    # The field key may list several Fernet keys, newest first (see `crm rotate-field-key`).
    FIELD_ENCRYPTION_KEY = _env("FIELD_ENCRYPTION_KEY")
    LOOKUP_HASH_KEY = _env("LOOKUP_HASH_KEY")
    # The embedded demo (scripts/demo.sh): keys of its own in the instance folder, plain http.
    DEMO = _env("DEMO", "0") == "1"

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
    # Beat (crm/tasks/__init__.py): with a Redis broker, celery-redbeat keeps the schedule and a
    # lock in Redis (this URL, the broker's by default): only the beat holding the lock sends.
    BEAT_REDIS_URL = _env("BEAT_REDIS_URL")
    BEAT_KEY_PREFIX = _env("BEAT_KEY_PREFIX", "crm-redbeat")
    # Seconds after a beat's death (no lock extension) before a standby beat takes over.
    BEAT_LOCK_TIMEOUT = int(_env("BEAT_LOCK_TIMEOUT", "60"))
    BEAT_HEARTBEAT_SECONDS = float(_env("BEAT_HEARTBEAT_SECONDS", "60"))  # the liveness tick
    # A live run whose last committed chunk is older than this is shown as stalled, with resume.
    TASK_STALE_MINUTES = float(_env("TASK_STALE_MINUTES", "10"))
    CREDIT_CHECK_CHUNK = int(_env("CREDIT_CHECK_CHUNK", "20000"))  # customer ids per commit

    ARCHIVE_ROOT = _env("ARCHIVE_ROOT", str(INSTANCE_DIR / "archive"))
    # Archive files in S3-compatible object storage (crm/storage.py): s3://bucket/prefix. Unset,
    # they stay in ARCHIVE_ROOT (one machine). Keys come from the environment, never the code.
    STORAGE_URL = _env("STORAGE_URL")
    S3_ENDPOINT_URL = _env("S3_ENDPOINT_URL")  # MinIO, Ceph, a cloud's endpoint; unset: AWS
    S3_ACCESS_KEY_ID = _env("S3_ACCESS_KEY_ID")
    S3_SECRET_ACCESS_KEY = _env("S3_SECRET_ACCESS_KEY")
    S3_REGION = _env("S3_REGION")
    S3_ADDRESSING_STYLE = _env("S3_ADDRESSING_STYLE")  # path (MinIO) | virtual | unset: auto
    MAIL_DIR = _env("MAIL_DIR", str(INSTANCE_DIR / "outbox"))

    # Notices (crm.notifications.delivery). Links in mails and robot messages are absolute.
    BASE_URL = _env("BASE_URL", "http://127.0.0.1:5000")
    # Without SMTP_HOST mails are written to MAIL_DIR (the embedded default).
    SMTP_HOST = _env("SMTP_HOST")
    SMTP_SECURITY = _env("SMTP_SECURITY", "starttls")  # ssl (port 465) | starttls | none
    SMTP_PORT = int(_env("SMTP_PORT", "465" if SMTP_SECURITY == "ssl" else "587"))
    SMTP_USER = _env("SMTP_USER")
    SMTP_PASSWORD = _env("SMTP_PASSWORD")
    SMTP_TIMEOUT = float(_env("SMTP_TIMEOUT", "20"))
    SMTP_CA_FILE = _env("SMTP_CA_FILE")  # a private CA's certificate; the system's otherwise
    MAIL_FROM = _env("MAIL_FROM", "客户档案系统 <crm@localhost>")
    ROBOT_TIMEOUT = float(_env("ROBOT_TIMEOUT", "10"))

    # The largest request body (an upload with its form): a bigger one is refused with 413.
    MAX_UPLOAD_MB = int(_env("MAX_UPLOAD_MB", "50"))
    MAX_CONTENT_LENGTH = MAX_UPLOAD_MB * 1024 * 1024

    TIMEZONE = _env("TIMEZONE", "Asia/Shanghai")
    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = TIMEZONE
    LANGUAGES = {"zh_Hans_CN": "简体中文", "en": "English"}

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Cookies only over HTTPS, unless CRM_SECURE_COOKIES=0 (or the demo on http://127.0.0.1).
    SESSION_COOKIE_SECURE = _env("SECURE_COOKIES", "0" if DEMO else "1") == "1"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session: staff keep tabs open

    # How many reverse proxies (nginx, a load balancer) stand before the app: their
    # X-Forwarded-For then names the client. 0 (the default) trusts no such header.
    PROXY_COUNT = int(_env("PROXY_COUNT", "0"))

    # The level of the app's own loggers (crm.*): DEBUG, INFO, WARNING, ERROR.
    LOG_LEVEL = _env("LOG_LEVEL", "INFO")
    # /healthz: how long the broker may take to answer before it counts as down, in seconds.
    HEALTH_BROKER_TIMEOUT = float(_env("HEALTH_BROKER_TIMEOUT", "2"))

    LOGIN_MAX_FAILURES = int(_env("LOGIN_MAX_FAILURES", "5"))
    LOGIN_LOCK_MINUTES = int(_env("LOGIN_LOCK_MINUTES", "15"))
    # Flask-Limiter on failed sign-ins (limits syntax, ";" between several). Per client address
    # every failure counts; per user name only refused passwords, so that one stranger, whom
    # the lock above stops after LOGIN_MAX_FAILURES, cannot keep the name's owner out.
    RATELIMIT_ENABLED = _env("RATELIMIT_ENABLED", "1") == "1"
    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URL")  # default: the broker if Redis, or memory
    LOGIN_LIMIT_PER_ADDRESS = _env("LOGIN_LIMIT_PER_ADDRESS", "10 per minute;50 per hour")
    LOGIN_LIMIT_PER_NAME = _env("LOGIN_LIMIT_PER_NAME", "50 per hour")

    FLASK_ADMIN_SWATCH = "cerulean"
    FLASK_ADMIN_RAISE_ON_VIEW_EXCEPTION = False
    ADMIN_PAGE_SIZE = 20
    TESTING = False


class TestConfig(Config):
    TESTING = True
    # Keys of this run only (or the environment's, which subprocesses started by tests share).
    SECRET_KEY = _env("SECRET_KEY") or secrets.token_urlsafe(32)
    FIELD_ENCRYPTION_KEY = _env("FIELD_ENCRYPTION_KEY") or Fernet.generate_key().decode()
    LOOKUP_HASH_KEY = _env("LOOKUP_HASH_KEY") or secrets.token_urlsafe(32)
    SESSION_COOKIE_SECURE = REMEMBER_COOKIE_SECURE = False  # the test client speaks http
    WTF_CSRF_ENABLED = False
    PASSWORD_HASH_FAST = True  # argon2 at minimum cost keeps the suite quick; same code path
    RATELIMIT_ENABLED = False  # many sign-ins a second; tests/auth/test_throttle.py turns it on


def load_config(app, config) -> None:
    app.config.from_object(Config)
    if config is None:
        return
    if isinstance(config, dict):
        app.config.update(config)
    else:
        app.config.from_object(config)
