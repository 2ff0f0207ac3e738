"""GET /healthz: does this instance reach its database and its broker? For a load balancer or
a monitor: no sign-in, no secrets (what failed is named, never why: an error text may hold a
URL with its password), never cached. 200 when both answer, 503 otherwise."""

import logging

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from crm.extensions import db

logger = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


def _database_ok() -> bool:
    try:
        db.session.execute(text("SELECT 1")).scalar()
        return True
    except Exception as exc:  # any failure means "not answering"; the type says enough
        db.session.rollback()
        logger.warning("health: the database does not answer (%s)", type(exc).__name__)
        return False


def _broker_ok() -> bool:
    timeout = current_app.config["HEALTH_BROKER_TIMEOUT"]
    celery_app = current_app.extensions["celery"]
    try:
        with celery_app.connection_for_write(connect_timeout=timeout) as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=timeout
            )
        return True
    except Exception as exc:
        logger.warning("health: the broker does not answer (%s)", type(exc).__name__)
        return False


@bp.route("/healthz")
def healthz():
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    failed = [name for name, ok in checks.items() if not ok]
    body = {
        "status": "error" if failed else "ok",
        "failed": failed,
        **{name: "ok" if ok else "error" for name, ok in checks.items()},
    }
    response = jsonify(body)
    response.status_code = 503 if failed else 200
    response.headers["Cache-Control"] = "no-store"
    return response
