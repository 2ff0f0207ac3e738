"""The browser suite's shared pieces: a live server on the test app, and Playwright driving
Debian's chromium (/usr/bin/chromium, through executable_path: never `playwright install`)."""

import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Screenshots and other artefacts of a browser test: <this>/<test name>/ (like pytest-playwright).
OUTPUT_ROOT = Path(__file__).resolve().parents[2] / "test-results"


BROWSER = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs /usr/bin/chromium (Debian package 'chromium'; .ci/run installs it)",
    ),
]


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def output_dir(request) -> Path:
    """This test's own folder for screenshots (made on first use)."""
    name = re.sub(r"[^\w.-]+", "-", request.node.nodeid.split("::", 1)[-1]).strip("-")
    return OUTPUT_ROOT / name


def sign_in(page, base: str, username: str, password: str) -> None:
    """Signs in through the form (on the sign-in page the browser is on, or a fresh one)."""
    if "/login" not in page.url:
        page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the test (item.rep_call...), so that a fixture can tell a
    failed test from a passed one at teardown (and take its screenshot)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
