"""Who is acting: the signed-in user of a request, or the system (CLI, background tasks).

Infrastructure every area uses (the query scope, the audit hook, the services' own
permission checks); it imports nothing of the application.
"""

from flask import g, has_app_context, has_request_context, request


class SYSTEM:
    """The actor of CLI commands and background tasks."""

    id = None
    role = "system"
    is_authenticated = False

    def __str__(self) -> str:
        return "system"


def current_actor():
    """The signed-in user of this request, None for an anonymous request, SYSTEM elsewhere."""
    if has_request_context():
        return g.get("crm_actor")
    if has_app_context() and g.get("crm_actor") is not None:
        return g.crm_actor
    return SYSTEM


def set_actor(user) -> None:
    g.crm_actor = user


def request_cache() -> dict:
    """A dict that lives exactly as long as the current request (an empty, throw-away one
    outside requests). Kept as an attribute of the request object: an app context (and its g)
    may outlive one request, and the WSGI environ takes only string keys (PEP 3333; gunicorn's
    access log lower-cases every key)."""
    if not has_request_context():
        return {}
    req = request._get_current_object()
    try:
        return req.crm_cache
    except AttributeError:
        req.crm_cache = {}
        return req.crm_cache
