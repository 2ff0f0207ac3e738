"""Where the app may send a browser back to: one rule for every redirect that takes a target from
the request (`next` of the sign-in, `next` of a form, Flask-Admin's `url`, the Referer)."""

from urllib.parse import urlsplit


def local_path(target) -> str | None:
    """`target` when it is a path of this site ("/admin/client/?page=2"), else None.

    Browsers read "\\" as "/", drop tabs and newlines inside a URL, treat "//host", "///host"
    and "////host" as another host, and read "http:host" as a host when the page is served over
    https. So only a string starting with exactly one "/" followed by no "/" or "\\", with no
    backslash, whitespace or control character anywhere and no scheme or host, is followed."""
    if not isinstance(target, str) or not target.startswith("/"):
        return None
    if target[1:2] in ("/", "\\") or "\\" in target:
        return None
    if any(c.isspace() or not c.isprintable() for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def safe_target(target, default: str) -> str:
    """`target` when it is a path of this site, else `default` (a URL the app built itself)."""
    return local_path(target) or default


def referrer_path(referrer: str | None) -> str | None:
    """The path and query of a Referer header, for "back to where you were"."""
    if not referrer:
        return None
    parts = urlsplit(referrer)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return local_path(path)


def target_path(
    endpoint: str | None, record_id: int | None = None, legacy: str | None = None
) -> str | None:
    """The path of a notice's target: its endpoint and record id turned into a URL by the app's
    own routes (inside a request as url_for does, else from the URL map, for the mail and robot
    delivery); `legacy`, a path stored by rows written before targets, when it is one of this
    site. None when there is nowhere to go (an endpoint no longer registered)."""
    from flask import current_app, has_request_context, url_for
    from werkzeug.routing import BuildError

    if endpoint:
        values = {} if record_id is None else {"id": record_id}
        try:
            if has_request_context():
                return url_for(endpoint, **values)
            return current_app.url_map.bind("localhost").build(endpoint, values)
        except BuildError:
            return None
    return local_path(legacy)
