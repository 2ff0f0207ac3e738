"""Issue 14 point 4 in a real browser, under the app's Content-Security-Policy: the customer
card's tabs switch with Bootstrap's own script (no inline script), and the create form shows
the sections of the kind chosen, 客户性质 following the kind (static/client_form.js)."""

import re

from sqlalchemy import select

from crm.clients.models import Client
from crm.extensions import db
from tests import factories
from tests.browser.conftest import BROWSER, sign_in

pytestmark = BROWSER


def test_the_cards_tabs_switch_without_inline_script(world, live_server, page, output_dir):
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server, world.am1.username, factories.PASSWORD)
    page.goto(f"{live_server}/admin/client/details/?id={world.c1.id}")
    assert page.locator("#tab-basic").is_visible()
    assert not page.locator("#tab-history").is_visible()  # in the page, not shown
    page.click("#tab-key-persons-link")
    page.wait_for_selector("#tab-key-persons", state="visible")
    assert page.locator("#key-persons").is_visible()
    assert not page.locator("#tab-basic").is_visible()
    page.click("#tab-credit-link")
    page.wait_for_selector("#credit-section", state="visible")
    page.screenshot(path=str(output_dir / "credit-tab.png"), full_page=True)
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e]


def test_the_create_form_follows_the_kind(world, live_server, page, output_dir):
    sign_in(page, live_server, world.am1.username, factories.PASSWORD)
    page.goto(f"{live_server}/admin/client/new/")
    assert page.locator("#section-organisation").is_visible()
    assert not page.locator("#section-individual").is_visible()
    assert page.locator("#nature").input_value() == "ordinary"
    page.click("#s2id_kind a")  # the select2 box Flask-Admin puts over the <select>
    page.click('#select2-drop .select2-result-label >> text="个人"')
    page.wait_for_selector("#section-individual", state="visible")
    assert not page.locator("#section-organisation").is_visible()
    assert page.locator("#nature").input_value() == "individual"
    page.fill("#name", "浏览器个人")
    page.fill("#phone", "010-87654321")
    page.click("input[type=submit].btn-primary")
    page.wait_for_url(re.compile(r"/admin/client/(\?|$)"))
    page.screenshot(path=str(output_dir / "saved.png"), full_page=True)
    saved = db.session.scalars(select(Client).where(Client.name == "浏览器个人")).one()
    assert (saved.kind, saved.nature) == ("individual", "individual")
