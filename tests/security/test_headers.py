"""Issue 13.4: security headers on every answer (Flask-Talisman, crm/security.py): a
Content-Security-Policy whose only inline scripts are the page's own, carrying the request's
nonce; no framing; no sniffing; no referrer off the site; HSTS only with secure cookies."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from crm import create_app

ROOT = Path(__file__).resolve().parents[2]


def csp(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {
        part.split()[0]: " ".join(part.split()[1:]) for part in header.split(";") if part.strip()
    }


def assert_protected(response):
    policy = csp(response)
    assert policy["default-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert re.fullmatch(r"'self' 'nonce-[A-Za-z0-9_-]{32}'", policy["script-src"])
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert "unsafe-eval" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # cookies are not HTTPS-only


def nonce_of(response) -> str:
    return re.search(r"'nonce-([^']+)'", csp(response)["script-src"]).group(1)


def test_headers_on_the_sign_in_page_a_static_file_and_a_404(client):
    for url, status in (
        ("/login", 200),
        ("/static/crm.css", 200),
        ("/static/crm.js", 200),
        ("/no/such/page", 404),
        ("/admin/client/", 302),
    ):
        r = client.get(url)
        assert r.status_code == status, url
        assert_protected(r)


def test_a_signed_in_list_page_runs_only_its_own_nonced_scripts(world, login_as):
    from crm.credit.models import CheckRun
    from crm.extensions import db

    db.session.add(CheckRun(status="running", progress=40))  # its progress bar is drawn
    db.session.commit()
    am, archivist, finance = (login_as(u) for u in (world.am1, world.archivist, world.finance))
    pages = [
        (am, "/admin/"),
        (am, "/admin/client/"),
        (am, "/admin/client/new/"),
        (am, f"/admin/client/details/?id={world.c1.id}"),
        (am, f"/admin/client/edit/?id={world.c1.id}"),
        (archivist, "/admin/archive_volume/"),
        (finance, "/admin/credit_check/"),
    ]
    nonces = set()
    for user, url in pages:
        r = user.get(url)
        assert r.status_code == 200, url
        assert_protected(r)
        nonce = nonce_of(r)
        nonces.add(nonce)
        html = r.get_data(as_text=True)
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert scripts, url
        for tag in scripts:  # every script, inline or not, carries this request's nonce
            assert f'nonce="{nonce}"' in tag, (url, tag)
        # No inline handler and no inline style: the policy would refuse them.
        assert not re.findall(r"<[^>]+\son[a-z]+\s*=", html), url
        assert not re.findall(r"<[^>]+\sstyle\s*=", html), url
    assert 'data-crm-width="40"' in html  # the credit check's bar, sized by crm/static/crm.js
    assert len(nonces) == len(pages)  # a fresh nonce for every answer


def test_the_list_page_inline_script_is_the_page_own_and_carries_the_nonce(world, login_as):
    r = login_as(world.am1).get("/admin/client/")
    inline = re.findall(r"<script\b([^>]*)>(.*?)</script>", r.get_data(as_text=True), re.S)
    own = [attrs for attrs, body in inline if "src=" not in attrs and body.strip()]
    assert own  # the deletion-reason prompt
    assert all(f'nonce="{nonce_of(r)}"' in attrs for attrs in own)


@pytest.fixture(scope="module")
def secure_app(app):
    """A second app on the test database whose cookies are HTTPS-only, as in production."""
    secure = create_app({**app.config, "SESSION_COOKIE_SECURE": True})
    app.extensions["celery"].set_default()  # the second app must not take over the tasks
    return secure


def test_hsts_and_secure_cookies_when_cookies_are_https_only(secure_app, world):
    from tests import factories

    c = secure_app.test_client()
    r = c.get("/login", base_url="https://crm.example")
    assert r.headers["Strict-Transport-Security"] == "max-age=31556926"
    r = c.post(
        "/login",
        base_url="https://crm.example",
        data={"username": "am1", "password": factories.PASSWORD},
    )
    assert r.status_code == 302
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("session=") and "; Secure" in cookie and "; HttpOnly" in cookie
    assert secure_app.config["REMEMBER_COOKIE_SECURE"] is True
    # Behind the TLS-ending proxy: the proxy's X-Forwarded-Proto tells the request was HTTPS.
    r = secure_app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in r.headers
    # Over plain http (no proxy saying otherwise) HSTS would mean nothing and is not sent.
    assert_protected(secure_app.test_client().get("/login"))


def test_hsts_is_not_sent_when_cookies_are_not_secure(client):
    assert_protected(client.get("/login", base_url="https://crm.example"))


def test_secure_cookies_are_on_by_default_and_off_with_crm_secure_cookies_0(tmp_path):
    code = (
        "from crm import create_app\n"
        "c = create_app().config\n"
        "print(c['SESSION_COOKIE_SECURE'], c['REMEMBER_COOKIE_SECURE'])\n"
    )

    def run(**extra):
        env = {k: v for k, v in os.environ.items() if k not in ("CRM_SECURE_COOKIES", "CRM_DEMO")}
        env.update(CRM_INSTANCE_DIR=str(tmp_path), **extra)
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=env,
            text=True,
            capture_output=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.split()

    assert run() == ["True", "True"]  # production
    assert run(CRM_SECURE_COOKIES="0") == ["False", "False"]
    assert run(CRM_DEMO="1") == ["False", "False"]  # the demo on http://127.0.0.1
