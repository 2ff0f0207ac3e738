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

    ARCHIVE_ROOT = _env("ARCHIVE_ROOT", str(INSTANCE_DIR / "archive"))
    MAIL_DIR = _env("MAIL_DIR", str(INSTANCE_DIR / "outbox"))

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

    LOGIN_MAX_FAILURES = int(_env("LOGIN_MAX_FAILURES", "5"))
    LOGIN_LOCK_MINUTES = int(_env("LOGIN_LOCK_MINUTES", "15"))

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


def load_config(app, config) -> None:
    app.config.from_object(Config)
    if config is None:
        return
    if isinstance(config, dict):
        app.config.update(config)
    else:
        app.config.from_object(config)
