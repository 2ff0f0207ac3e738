"""客户档案 — the customer-archive CRM. `create_app` is the application factory."""

import hmac

import flask_babel
from flask import Flask, g, has_request_context, redirect, request, session, url_for
from flask_login import current_user

from crm.config import INSTANCE_DIR, load_config
from crm.extensions import babel, csrf, db, login_manager, migrate
from crm.kernel import unscoped
from crm.keys import check_keys
from crm.logs import configure_logging, init_request_log
from crm.security import init_security


def create_app(config=None) -> Flask:
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    load_config(app, config)
    from crm.bounds import BoundedIntConverter

    app.url_map.converters["int"] = BoundedIntConverter
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    if app.config["PROXY_COUNT"]:
        # Behind N reverse proxies the client's address (sign-in throttle and lock) and scheme
        # are what the proxies put in X-Forwarded-For / -Proto, not the last proxy's.
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)

    check_keys(app.config, app.instance_path)  # no key, no app (crm/keys.py)

    configure_logging(app)
    init_request_log(app)  # first, so that the line's duration covers the other hooks

    from crm import models  # noqa: F401  (every table, for Alembic and the mappers)

    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    init_security(app)
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=_select_timezone)
    app.jinja_env.globals["html_lang"] = html_lang
    _init_login(app)
    _init_database_hooks(app)

    from crm.auth.views import bp as auth_bp

    app.register_blueprint(auth_bp)

    from crm.auth.throttle import init_throttle

    init_throttle(app)

    from crm.health import bp as health_bp

    app.register_blueprint(health_bp)
    csrf.exempt(health_bp)

    from crm.admin import init_admin

    init_admin(app)

    from crm import errorpages

    errorpages.init_app(app)

    from crm.cli import register_cli

    register_cli(app)

    from crm.tasks import init_celery

    init_celery(app)

    @app.route("/")
    def home():
        return redirect(url_for("admin.index"))

    return app


def _select_locale():
    """The screens' language. A signed-in user's screens follow their own choice (users.locale),
    Chinese unless they chose English, whatever their browser asks for: the staff are Chinese
    and the product is Chinese first. Only the sign-in page, whose reader is not known yet,
    follows the browser."""
    if not has_request_context():  # tasks and CLI write texts in the default locale
        return None
    if current_user and current_user.is_authenticated:
        return current_user.locale or None  # None: BABEL_DEFAULT_LOCALE, Chinese
    if "locale" in session:
        return session["locale"]
    # Browsers send "zh-CN", which matches neither "zh_Hans_CN" nor (exactly) "zh": without the
    # aliases a typical Chinese browser that also lists English would get English.
    best = request.accept_languages.best_match(["zh_Hans_CN", "zh_CN", "zh", "en"])
    return "en" if best == "en" else "zh_Hans_CN"


def html_lang() -> str:
    """The BCP 47 tag of the screen's language, for <html lang> (screen readers pick their
    voice by it)."""
    return "en" if str(flask_babel.get_locale()) == "en" else "zh-CN"


def _select_timezone():
    from flask import current_app

    return current_app.config["TIMEZONE"]


def _init_login(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from crm.access import set_actor
    from crm.auth.models import User

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(cookie_id: str):
        # The cookie names "<id>:<session token>" (User.get_id): a token that is no longer the
        # user's (signed out, new password, disabled) ends the session, on every device.
        user_id, _, token = cookie_id.partition(":")
        if not (user_id.isascii() and user_id.isdigit()) or not token:
            return None
        # The sign-in lookup itself: nobody is signed in yet, so no scope applies to it (one
        # built for "nobody" would be thrown away a moment later).
        user = db.session.get(User, int(user_id), execution_options=unscoped("the sign-in look-up"))
        if user is None or not user.active:
            return None
        return user if hmac.compare_digest(user.session_token, token) else None

    @app.before_request
    def _bind_actor():
        set_actor(current_user._get_current_object() if current_user.is_authenticated else None)

    @app.teardown_request
    def _unbind_actor(exc):
        # A request may share an app context that outlives it (a CLI or test context); the
        # signed-in user and their language must not stay attached to it.
        g.pop("crm_actor", None)
        g.pop("_login_user", None)
        flask_babel.refresh()


def _init_database_hooks(app: Flask) -> None:
    from flask_sqlalchemy.session import Session
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from crm import access, audit, bounds
    from crm.reviews import consumption

    access.install(Session)
    audit.install(Session)
    bounds.install(Session)
    consumption.install(Session)
    if not event.contains(Engine, "connect", _connection_settings):
        event.listen(Engine, "connect", _connection_settings)


def _connection_settings(dbapi_connection, connection_record):
    if type(dbapi_connection).__module__.startswith("psycopg"):
        # psycopg prepares a statement run five times, and PostgreSQL may then keep one plan
        # for any parameters. A search's plan depends on its term (rare: through the search
        # index; common: along the sort), so each execution is planned for its own values.
        dbapi_connection.execute("SET plan_cache_mode = force_custom_plan")
        dbapi_connection.commit()
    elif type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        # WAL lets the web app and the worker read while the other writes.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()
