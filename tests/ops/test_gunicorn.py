"""gunicorn serves the app with its access log on (issue 13 point 6): a tuple key the scope
cache once put into the WSGI environ made gunicorn's access logger raise on every signed-in
request. Starts gunicorn for real on a free loopback port against the test database."""

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from cryptography.fernet import Fernet

from tests import factories
from tests.conftest import BROKER_URL, DATABASE_URL

ROOT = Path(__file__).resolve().parents[2]
ACCESS_FORMAT = '%(h)s "%(r)s" %(s)s rid=%({x-request-id}o)s'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, proc, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"gunicorn exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not listen in time")


def server_env(tmp_path) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "CRM_DATABASE_URL": DATABASE_URL,
            "CRM_BROKER_URL": BROKER_URL,
            "CRM_INSTANCE_DIR": str(tmp_path / "instance"),
            "CRM_SECRET_KEY": "gunicorn-test-" + os.urandom(16).hex(),
            "CRM_FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "CRM_LOOKUP_HASH_KEY": os.urandom(32).hex(),
            # Plain http on loopback: production's secure-only cookies would never come back.
            "CRM_SECURE_COOKIES": "0",
        }
    )
    return env


def sign_in(opener, base: str, username: str) -> None:
    page = opener.open(f"{base}/login", timeout=20).read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    data = {"username": username, "password": factories.PASSWORD}
    if token:
        data["csrf_token"] = token.group(1)
    body = urllib.parse.urlencode(data).encode()
    with opener.open(f"{base}/login", data=body, timeout=20) as r:
        assert r.url.endswith("/admin/"), r.url  # signed in: sent on to the home page


def test_gunicorn_logs_signed_in_requests_without_error(world, tmp_path):
    port = free_port()
    access_log, error_log = tmp_path / "access.log", tmp_path / "error.log"
    app_log = (tmp_path / "app.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "--access-logfile",
            str(access_log),
            "--access-logformat",
            ACCESS_FORMAT,
            "--error-logfile",
            str(error_log),
            "--timeout",
            "60",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=server_env(tmp_path),
        stdout=app_log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(port, proc, time.monotonic() + 60)
        base = f"http://127.0.0.1:{port}"
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        sign_in(opener, base, "am1")
        request = urllib.request.Request(
            f"{base}/admin/client/", headers={"X-Request-ID": "gunicorn-test-1"}
        )
        with opener.open(request, timeout=20) as r:
            page = r.read().decode()
            assert r.status == 200
            assert r.headers["X-Request-ID"] == "gunicorn-test-1"
        assert world.c1.name in page and world.c3.name not in page
        with opener.open(f"{base}/healthz", timeout=20) as r:
            assert r.status == 200
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        app_log.close()
    lines = access_log.read_text().splitlines()
    assert '127.0.0.1 "GET /admin/client/ HTTP/1.1" 200 rid=gunicorn-test-1' in lines
    assert any(line.startswith('127.0.0.1 "POST /login HTTP/1.1" 302 rid=') for line in lines)
    errors = error_log.read_text()
    assert "Traceback" not in errors and "[ERROR]" not in errors, errors
    app_lines = (tmp_path / "app.log").read_text()
    assert "Traceback" not in app_lines, app_lines
    assert (
        "INFO crm.requests [gunicorn-test-1] GET /admin/client/ 200 " in app_lines
        and f"user={world.am1.id}" in app_lines
    ), app_lines
