"""Issue 15 points 5, 6: the home page of every demo role draws each of its charts (ECharts,
served from the app's own static files, under the Content-Security-Policy) with a canvas,
fills its table of figures, and reports no CSP violation or script error."""

import pytest

from crm.demo import DEMO_USERS, seed_demo
from crm.extensions import db
from crm.reports import home
from tests.browser.conftest import BROWSER, sign_in

PASSWORD = "demo-pass-2026"
pytestmark = BROWSER


@pytest.fixture
def demo(ctx):
    seed_demo(db.session, 40)
    db.session.commit()


def test_every_demo_role_sees_its_charts_drawn(demo, live_server, browser):
    from crm.auth.models import User

    roles = {}
    for username, role, _region, _name in DEMO_USERS:
        roles.setdefault(role, username)
    for role, username in roles.items():
        user = db.session.query(User).filter_by(username=username).one()
        expected = home.charts_for(user)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors = []
        page.on(
            "console",
            lambda m, e=errors: (
                e.append(m.text) if m.type == "error" and "favicon" not in str(m.location) else None
            ),
        )
        page.on("pageerror", lambda exc, e=errors: e.append(str(exc)))
        page.on(
            "response",
            lambda r, e=errors: (
                e.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico")
                else None
            ),
        )
        sign_in(page, live_server, username, PASSWORD)
        page.goto(f"{live_server}/admin/")
        charts = page.locator(".crm-chart")
        assert charts.count() == len(expected) > 0, role
        page.wait_for_function(
            "() => [...document.querySelectorAll('.crm-chart')]"
            ".every(el => ['drawn', 'empty'].includes(el.dataset.state))"
        )
        for i in range(charts.count()):
            chart = charts.nth(i)
            assert chart.locator("canvas, svg").count() >= 1, (role, i)
            box = chart.locator("canvas").first.bounding_box()
            assert box and box["width"] > 100 and box["height"] > 100, (role, i)
        tables = page.locator(".crm-chart-figures table")
        assert tables.count() == len(expected), role
        assert not errors, (role, errors)
        context.close()


def test_the_home_page_prints_its_charts_as_images_and_tables(demo, live_server, page):
    sign_in(page, live_server, "sales_mgr", PASSWORD)
    page.goto(f"{live_server}/admin/")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.crm-chart')]"
        ".every(el => ['drawn', 'empty'].includes(el.dataset.state))"
    )
    page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
    page.emulate_media(media="print")
    charts = page.locator(".crm-chart").count()
    images = page.locator("img.crm-chart-print")
    assert images.count() == charts
    for i in range(charts):
        assert images.nth(i).is_visible()
        assert images.nth(i).get_attribute("src").startswith("data:image/png")
    assert not page.locator(".crm-chart").first.is_visible()  # the image prints instead
    assert page.locator(".crm-chart-figures table").first.is_visible()  # the tables open
    assert not page.locator("header nav").is_visible()
