"""An account manager in a real browser: signs in through the form, sees only their own
customers, opens a card, and gets 404 for another manager's card typed into the address bar."""

import re

from tests import factories
from tests.browser.conftest import BROWSER, sign_in

pytestmark = BROWSER


def test_account_manager_sees_and_opens_only_own_cards(world, live_server, page, output_dir):
    mine, theirs = world.c1, world.c2  # c2 belongs to am2, in am1's own region

    page.goto(f"{live_server}/admin/client/")
    assert "/login" in page.url  # the list is not shown to anyone signed out
    sign_in(page, live_server, world.am1.username, factories.PASSWORD)

    page.goto(f"{live_server}/admin/client/")
    body = page.content()
    assert mine.name in body
    assert theirs.name not in body
    page.screenshot(path=str(output_dir / "list.png"), full_page=True)

    page.locator(f'a[href*="/admin/client/details/?id={mine.id}"]').first.click()
    page.wait_for_url(re.compile(r"/admin/client/details/"))
    assert mine.name in page.content()
    page.screenshot(path=str(output_dir / "details.png"), full_page=True)

    response = page.goto(f"{live_server}/admin/client/details/?id={theirs.id}")
    assert response.status == 404
    assert theirs.name not in page.content()
