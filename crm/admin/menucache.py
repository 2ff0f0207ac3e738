"""The main menu's HTML, rendered once per role, language and screen in a process.

Flask-Admin renders the menu on every page: for each of some fifty screens it asks whether
the user may open it and builds its URL — about a fifth of a list page's Python time. What it
shows depends only on the role (crm.access's table: `is_accessible` asks the role, never a
row), the language, the screen being shown (the active entry) and where the application is
mounted; so the HTML is kept under exactly those, and the menu macro runs once per key.
"""

import threading

from flask import request
from flask_babel import get_locale

from crm.access import current_actor

LIMIT = 1024  # keys kept at most (roles × languages × screens); beyond it the cache restarts

_lock = threading.Lock()
_cache: dict[tuple, str] = {}


def cached_menu(admin_view, render):
    """`render()` (the menu macro) for this request's role, language and screen, once."""
    actor = current_actor()
    key = (
        getattr(actor, "role", None),
        str(get_locale()),
        getattr(admin_view, "endpoint", None),
        request.script_root,
    )
    html = _cache.get(key)
    if html is None:
        html = render()
        with _lock:
            if len(_cache) >= LIMIT:
                _cache.clear()
            _cache[key] = html
    return html


def clear() -> None:
    with _lock:
        _cache.clear()
