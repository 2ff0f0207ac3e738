"""Sign-in throttling (Flask-Limiter): failed sign-ins are counted per client address and per
user name, in Redis in production (shared by every web worker) and in memory in the embedded
default. The account lock of crm.auth.services works beside it, per (name, address)."""

from flask import Flask, g, request
from flask_limiter import Limiter


def storage_uri(config) -> str:
    """CRM_RATELIMIT_STORAGE_URL, else the broker when it is Redis, else memory (one process)."""
    if config.get("RATELIMIT_STORAGE_URI"):
        return config["RATELIMIT_STORAGE_URI"]
    broker = config.get("BROKER_URL") or ""
    if broker.startswith(("redis://", "rediss://")):
        return broker
    return "memory://"


def client_address() -> str:
    return request.remote_addr or "-"


def attempted_name() -> str:
    return "name:" + (request.form.get("username") or "").strip()[:64]


def _failed(response) -> bool:
    """Only failures count: staff signing in at the office, behind one address, do not."""
    return response.status_code != 302


def _password_refused(response) -> bool:
    """A name's count grows only by refused passwords, not by attempts the address lock turned
    away: one stranger alone (LOGIN_MAX_FAILURES a lock, locked for LOGIN_LOCK_MINUTES) cannot
    reach the name's limit and keep its owner out."""
    return g.get("crm_password_refused", False)


def init_throttle(app: Flask) -> Limiter | None:
    """Limit the sign-in POSTs of `app` (a limiter of its own: apps made in one process, as the
    tests do, keep separate counts)."""
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "crm-signin")
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)  # Redis away: the lock still holds
    app.config["RATELIMIT_STORAGE_URI"] = storage_uri(app.config)
    limiter = Limiter(key_func=client_address, app=app)
    app.extensions["crm_limiter"] = limiter
    if not limiter.enabled:
        return None
    view = app.view_functions["auth.login"]
    view = limiter.limit(
        lambda: app.config["LOGIN_LIMIT_PER_ADDRESS"],
        key_func=client_address,
        methods=["POST"],
        deduct_when=_failed,
        scope="address",
    )(view)
    view = limiter.limit(
        lambda: app.config["LOGIN_LIMIT_PER_NAME"],
        key_func=attempted_name,
        methods=["POST"],
        deduct_when=_password_refused,
        scope="name",
    )(view)
    app.view_functions["auth.login"] = view
    return limiter
