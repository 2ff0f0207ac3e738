"""An account manager in a real browser: signs in through the form, sees only their own
customers, opens a card, and gets 404 for another manager's card typed into the address bar."""

import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests import factories

CHROMIUM = Path("/usr/bin/chromium")
# Playwright drives Debian's chromium; it never downloads a browser of its own.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOT_DIR = Path("/tmp")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="needs /usr/bin/chromium (Debian package 'chromium'; .ci/run "
                              "installs it)"),
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
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=CHROMIUM_ARGS)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        browser.close()


def test_account_manager_sees_and_opens_only_own_cards(world, live_server, page):
    mine, theirs = world.c1, world.c2  # c2 belongs to am2, in am1's own region

    page.goto(f"{live_server}/admin/client/")
    assert "/login" in page.url  # the list is not shown to anyone signed out
    page.fill("#username", world.am1.username)
    page.fill("#password", factories.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/"))

    page.goto(f"{live_server}/admin/client/")
    body = page.content()
    assert mine.name in body
    assert theirs.name not in body
    page.screenshot(path=str(SCREENSHOT_DIR / "crm-browser-list.png"), full_page=True)

    page.locator(f'a[href*="/admin/client/details/?id={mine.id}"]').first.click()
    page.wait_for_url(re.compile(r"/admin/client/details/"))
    assert mine.name in page.content()
    page.screenshot(path=str(SCREENSHOT_DIR / "crm-browser-details.png"), full_page=True)

    response = page.goto(f"{live_server}/admin/client/details/?id={theirs.id}")
    assert response.status == 404
    assert theirs.name not in page.content()
