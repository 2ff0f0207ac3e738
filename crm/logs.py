"""Logging: configured once here (from the app factory), used everywhere through
``logging.getLogger(__name__)``. Each record carries a request id: the request's own (taken from a
valid ``X-Request-ID`` header or made up, and sent back in the response), a task's id inside a
Celery task, "-" elsewhere. One line per request says what was asked, the answer and who asked.

Never log secrets or personal data (ID numbers, phones, names of customers): ids and counts only.
"""

import logging
import re
import sys
import time
import uuid

from flask import Flask, g, has_request_context, request
from flask_login import current_user

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
REQUEST_ID_HEADER = "X-Request-ID"
# What a proxy or a client may hand us as a request id: short, printable, no spaces.
_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

logger = logging.getLogger("crm.requests")


def current_request_id() -> str:
    if has_request_context():
        return g.get("request_id") or "-"
    from celery import current_task

    task_id = getattr(getattr(current_task, "request", None), "id", None)
    return task_id or "-"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (a test runner swaps it)."""

    crm_handler = True

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):  # StreamHandler.__init__ assigns it
        pass


class RequestIdFilter(logging.Filter):
    """Puts `request_id` on every record passing the handler it is attached to."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


def configure_logging(app: Flask) -> None:
    """One handler on the `crm` logger (every module logger below it), at CRM_LOG_LEVEL.
    Records still propagate to the root logger, so a host (gunicorn, pytest) sees them too.
    Idempotent: the factory may run more than once in one process."""
    root = logging.getLogger("crm")
    root.setLevel(app.config.get("LOG_LEVEL", "INFO").upper())
    if not any(getattr(h, "crm_handler", False) for h in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
    # Flask's app.logger is this same "crm" logger: no second, differently formatted handler.
    from flask.logging import default_handler

    root.removeHandler(default_handler)


def init_request_log(app: Flask) -> None:
    @app.before_request
    def _start_request():
        g.request_started = time.perf_counter()
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if _VALID_ID.fullmatch(given) else uuid.uuid4().hex

    @app.after_request
    def _log_request(response):
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers[REQUEST_ID_HEADER] = request_id
        started = g.get("request_started")
        duration = (time.perf_counter() - started) * 1000 if started else 0.0
        # The id, never get_id(): that carries the session token, a secret.
        user_id = str(current_user.id) if current_user.is_authenticated else None
        # The path only: a query string may carry a searched name or phone number.
        logger.log(
            logging.WARNING if response.status_code >= 500 else logging.INFO,
            "%s %s %s %.1fms user=%s",
            request.method,
            request.path,
            response.status_code,
            duration,
            user_id or "-",
            extra={
                "request_id": request_id,
                "user_id": user_id,
                "status": response.status_code,
                "duration_ms": round(duration, 1),
            },
        )
        return response

    @app.teardown_request
    def _end_request(exc):
        # An app context (and its g) may outlive the request: tests, a CLI's context.
        g.pop("request_id", None)
        g.pop("request_started", None)
