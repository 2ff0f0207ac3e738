"""Accessibility of the main screens, checked by axe-core in Chromium (issue 20).

axe-core comes from npm, pinned in tests/browser/package.json + package-lock.json and installed by
.ci/run (`npm ci --prefix tests/browser`). It is injected into each page after it loads; the
context bypasses the app's Content-Security-Policy so that the injected script may run. A test
fails on any critical or serious violation (and on the structure rules issue 20 named), printing
each (page, rule, element, summary), and leaves a screenshot of each failing page in its output
folder (test-results/<test name>/)."""

import os
from pathlib import Path

import pytest

from crm.demo import seed_demo
from crm.extensions import db
from tests.browser.conftest import BROWSER, sign_in

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "demo-pass-2026"
BLOCKING = {"critical", "serious"}
# The structure issue 20 asked for, whatever axe's impact for it: checked on the app's own pages
# (an error response, e.g. the audit trail refused to an account manager, gets the blocking ones).
STRUCTURE = {
    "html-has-lang",
    "landmark-one-main",
    "page-has-heading-one",
    "region",
    "heading-order",
    "empty-table-header",
    "label",
    "label-title-only",
    "link-name",
    "aria-allowed-role",
}

pytestmark = [
    *BROWSER,
    pytest.mark.skipif(
        not AXE.exists() and not os.environ.get("CI"),
        reason="needs axe-core: npm ci --prefix tests/browser (.ci/run does it)",
    ),
]

# (name, path) of the screens staff use most; "{card}" is a customer of the account manager's
# with credit, contracts and member cards (the demo data gives them), which both roles may open.
SCREENS = [
    ("home", "/admin/"),
    ("customer list", "/admin/client/"),
    ("customer card", "/admin/client/details/?id={card}"),
    ("new customer", "/admin/client/new/"),
    ("contracts", "/admin/contract/"),
    ("aging report", "/admin/credit_aging/"),
    ("member cards", "/admin/card/"),
    ("notifications", "/admin/inbox/"),
    ("change requests", "/admin/change_request/"),
    ("audit trail", "/admin/audit/"),
]


@pytest.fixture
def demo(ctx):
    seed_demo(db.session, 40)
    db.session.commit()


def run_axe(page) -> list[dict]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary}))}));
    }""")


def report(name: str, violations: list[dict], structure: bool = True) -> list[str]:
    lines = []
    for v in violations:
        if v["impact"] in BLOCKING or (structure and v["id"] in STRUCTURE):
            for n in v["nodes"]:
                summary = " ".join((n["summary"] or "").split())
                lines.append(f"[{name}] {v['impact']} {v['id']}: {n['target']} -- {summary}")
    return lines


def _card_of(username: str) -> int:
    from sqlalchemy import select

    from crm.auth.models import User
    from crm.clients.models import Client
    from crm.credit.models import CreditProfile

    owner = db.session.scalar(select(User).where(User.username == username))
    return db.session.scalar(
        select(Client.id)
        .join(CreditProfile, CreditProfile.client_id == Client.id)
        .where(Client.owner_id == owner.id)
        .order_by(Client.id)
    )


@pytest.mark.parametrize("username", ["am_east1", "sales_mgr"])
def test_main_screens_have_no_serious_violations(demo, live_server, browser, output_dir, username):
    assert AXE.exists(), f"{AXE} is missing: run npm ci --prefix tests/browser"
    card = _card_of("am_east1")
    # An English browser: signed-in screens still follow the user's own language (Chinese).
    context = browser.new_context(
        locale="en-US", bypass_csp=True, viewport={"width": 1400, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems, shots = [], []

    def check(name, structure=True, found=()):
        found = [*found, *report(name, run_axe(page), structure)]
        if found:
            problems.extend(found)
            output_dir.mkdir(parents=True, exist_ok=True)
            shot = output_dir / f"{name.replace(' ', '-')}.png"
            page.screenshot(path=str(shot), full_page=True)
            shots.append(str(shot))

    page.goto(f"{live_server}/login")
    assert page.get_attribute("html", "lang") == "en"  # the sign-in page follows the browser
    check("sign-in")
    sign_in(page, live_server, username, PASSWORD)
    for name, path in SCREENS:
        response = page.goto(live_server + path.format(card=card))
        assert response.status < 500, (name, response.status)
        layout = []
        if response.ok:
            lang = page.get_attribute("html", "lang")
            if lang != "zh-CN":  # the user's own language, not the browser's
                layout.append(f"[{name}] <html lang={lang!r}>, expected the user's zh-CN")
            if page.locator("main h1").count() != 1:
                layout.append(f"[{name}] not one <h1> in <main>")
        check(
            name if response.ok else f"{name} ({response.status})",
            structure=response.ok,
            found=layout,
        )
    context.close()
    assert not problems, "\n".join(
        [f"{len(problems)} accessibility problems:", *problems, "screenshots: " + ", ".join(shots)]
    )
