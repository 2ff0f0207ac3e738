"""Error pages: 400, 403, 404, 405, 413, 429 and 500 in the user's language, with a way back.

A signed-in user sees the page inside the app's layout (menu, bell, sign-out); anyone else a
plain page with a link to sign in. Never Werkzeug's English page, never a traceback. An AJAX
or JSON request (Flask-Admin's look-ups) gets a short JSON answer with the same status. A 500
first rolls back the request's database session, so that the page itself can be drawn.
"""

import logging
from urllib.parse import urlsplit

from flask import current_app, jsonify, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from crm.extensions import db

log = logging.getLogger(__name__)

PAGES = {
    400: (
        _l("Bad request"),
        _l("The request could not be understood. Please go back and try again."),
    ),
    403: (
        _l("Access denied"),
        _l(
            "You may not open this page. If your work needs it, ask your manager or the "
            "system administrator."
        ),
    ),
    404: (
        _l("Page not found"),
        _l("This page or record does not exist, or it is not one you may see."),
    ),
    405: (
        _l("Not possible here"),
        _l("This page cannot be used this way. Please go back and use the buttons on the page."),
    ),
    413: (
        _l("File too large"),
        _l("The upload is larger than %(mb)d MB. Please send a smaller file."),
    ),
    429: (
        _l("Too many requests"),
        _l("Too many attempts in a short time. Please wait a moment and try again."),
    ),
    500: (
        _l("Something went wrong"),
        _l(
            "The server could not complete the request and nothing was saved. Please try "
            "again; if it happens again, tell the system administrator."
        ),
    ),
}
CSRF_MESSAGE = _l("The form has expired. Please reload the page and try again.")


def init_app(app) -> None:
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(InternalServerError, handle_500)


def handle_500(error):
    try:
        db.session.rollback()
    except Exception:  # the database itself may be what failed
        log.exception("rollback after an error failed")
    original = getattr(error, "original_exception", None)
    if original is not None:
        log.error(
            "unhandled error on %s %s",
            request.method,
            request.path,
            exc_info=(type(original), original, original.__traceback__),
        )
    return _answer(500)


def handle_http(error: HTTPException):
    code = error.code or 500
    if code == 500:
        return handle_500(error)
    if code < 400:  # redirects raised as exceptions (e.g. RequestRedirect) stay as they are
        return error
    body, status = _answer(code, CSRF_MESSAGE if isinstance(error, CSRFError) else None)
    response = make_response(body, status)
    # The exception's own headers (Allow on 405, Retry-After on 429, ...) stay on the answer.
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _message(code: int, override=None) -> tuple[str, str]:
    title, message = PAGES.get(code, (_l("Error"), PAGES[400][1]))
    if override is not None:
        message = override
    elif code == 413:
        message = _l(
            "The upload is larger than %(mb)d MB. Please send a smaller file.",
            mb=current_app.config.get("MAX_UPLOAD_MB", 50),
        )
    return str(title), str(message)


def _wants_json() -> bool:
    if "/ajax/" in request.path or request.is_json:
        return True
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _back_url() -> str | None:
    """The previous page, when it is one of ours and not this one."""
    referrer = request.referrer
    if not referrer:
        return None
    parts, here = urlsplit(referrer), urlsplit(request.url)
    if parts.netloc != here.netloc or parts.path == here.path:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _answer(code: int, override=None):
    title, message = _message(code, override)
    if _wants_json():
        return jsonify({"error": code, "title": title, "message": message}), code
    context = {"code": code, "title": title, "message": message, "back_url": _back_url()}
    signed_in = False
    try:
        signed_in = bool(current_user and current_user.is_authenticated)
    except Exception:  # the user could not be loaded (e.g. the database is down)
        log.exception("no user for the error page")
    if signed_in:
        try:
            admin = current_app.extensions["admin"][0]
            return admin.index_view.render("errors/in_layout.html", **context), code
        except Exception:  # the layout needs the database; the plain page does not
            log.exception("error page in the layout failed; plain page instead")
            db.session.rollback()
    return render_template("errors/plain.html", signed_in=signed_in, **context), code
