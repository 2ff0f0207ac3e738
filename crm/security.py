"""Security headers on every answer, through Flask-Talisman.

The Content-Security-Policy allows scripts and styles from the app's own origin only: no inline
script except the few the templates mark with the request's nonce (Flask-Admin's
`admin_csp_nonce_attribute`), no inline handler, no inline style. Flask-Admin 2.2.1's templates
put a nonce on their own <script> tags but still carry a few inline onclick handlers; the
templates under crm/templates/admin/ replace those macros with data- attributes that
crm/static/crm.js acts on. Pages may not be framed (anti-clickjacking), types are not sniffed,
no referrer leaves the site (list URLs carry search terms), and HSTS is sent only when the
cookies are HTTPS-only, i.e. when the site is served over HTTPS.

Talisman, not a hand-written after_request: it makes the per-request nonce, builds the policy
and is a small, widely used extension. Its HTTPS redirect stays off: TLS ends at the reverse
proxy, which redirects plain http itself (a redirect here would loop behind a proxy that does
not send X-Forwarded-Proto).
"""

from flask import Flask, has_request_context, request
from flask_talisman import Talisman

SELF = "'self'"
CONTENT_SECURITY_POLICY = {
    "default-src": SELF,
    "script-src": SELF,  # + the request's nonce
    "style-src": SELF,
    "img-src": f"{SELF} data:",
    "font-src": SELF,
    "connect-src": SELF,
    "object-src": "'none'",
    "base-uri": SELF,
    "form-action": SELF,
    "frame-ancestors": "'none'",
}
PERMISSIONS_POLICY = {
    "browsing-topics": "()",
    "camera": "()",
    "microphone": "()",
    "geolocation": "()",
    "payment": "()",
}
STOCK_TEMPLATES = "flask_admin_stock"  # Flask-Admin's own templates, under this prefix


def csp_nonce() -> str:
    """This request's nonce: the value the policy names, for <script nonce=…>."""
    return getattr(request, "csp_nonce", "") if has_request_context() else ""


def init_security(app: Flask) -> None:
    secure = bool(app.config["SESSION_COOKIE_SECURE"])
    app.config["REMEMBER_COOKIE_SECURE"] = secure
    app.extensions["talisman"] = Talisman(
        app,
        force_https=False,
        frame_options="DENY",
        strict_transport_security=secure,
        strict_transport_security_include_subdomains=False,
        content_security_policy=CONTENT_SECURITY_POLICY,
        content_security_policy_nonce_in=["script-src"],
        referrer_policy="same-origin",
        permissions_policy=PERMISSIONS_POLICY,
        session_cookie_secure=secure,
        session_cookie_http_only=True,
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
    )
    _stock_templates(app)


def _stock_templates(app: Flask) -> None:
    """Our overrides of a few Flask-Admin templates import the stock file they amend."""
    from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader

    stock = PrefixLoader({STOCK_TEMPLATES: PackageLoader("flask_admin", "templates/bootstrap4")})
    app.jinja_loader = ChoiceLoader([app.jinja_loader, stock])
