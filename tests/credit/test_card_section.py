"""Issue 8: the customer card shows the customer's credit — limit, outstanding, utilisation,
grade, period, overdue and the newest ledger entries — to exactly those the credit screens
show it to, with links to the ledger list and the profile, and the one-customer check."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.credit import ledger as credit_ledger
from crm.credit import rules
from crm.credit.models import CHARGE, CheckRun, LedgerEntry
from crm.extensions import db
from crm.timeutil import local_today
from tests.credit.conftest import give_profile

CARD = "/admin/client/details/?id={}"
ENTRIES = 21  # one more than the card shows


@pytest.fixture
def books(world):
    """c1 (am1's, east) with 21 ledger entries: charges, a payment every third entry, two on
    the same day (the id breaks the tie); the oldest charges past due and partly paid. c2
    (am2's, east) has one charge of its own, to tell the customers apart."""
    w = world
    give_profile(w.c1, "20000.00", grade="B", period_days=30)
    give_profile(w.c2, "20000.00")
    today = local_today()
    for i in range(ENTRIES):
        day = today - timedelta(days=max(ENTRIES - i, 2) * 6)
        if i % 3 == 1:
            credit_ledger.record_payment(db.session, w.c1.id, "150.00", day, f"P-{i:02d}")
        else:
            credit_ledger.record_charge(db.session, w.c1.id, f"{400 + i}.00", day, f"C-{i:02d}")
    credit_ledger.record_charge(db.session, w.c2.id, "7777.00", today, "OTHER-1")
    db.session.commit()
    w.entries = db.session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.client_id == w.c1.id)
        .order_by(LedgerEntry.entry_date.desc(), LedgerEntry.id.desc())
    ).all()
    return w


def _field(html: str, name: str) -> str:
    return re.search(rf'id="{name}">([^<]*)<', html).group(1).strip()


def _section(html: str) -> str:
    return re.search(r'<div id="credit-section">.*?</table>', html, re.S).group(0)


def _shown_references(html: str) -> list[str]:
    table = re.search(r'<table[^>]*id="card-ledger".*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return re.findall(r'details/\?id=\d+">([^<]*)</a>', table)


def _expected_figures(entries) -> dict:
    """From the ledger itself: charges minus payments; what is overdue is what the payments,
    applied oldest charge first, have left unpaid of charges past their due date."""
    charges = sorted((e for e in entries if e.kind == CHARGE), key=lambda e: (e.entry_date, e.id))
    paid = sum(e.amount for e in entries if e.kind != CHARGE)
    outstanding = sum(e.amount for e in charges) - paid
    overdue = Decimal("0.00")
    for charge in charges:
        settled = min(paid, charge.amount)
        paid -= settled
        if charge.due_date < local_today():
            overdue += charge.amount - settled
    return {"outstanding": outstanding, "overdue": overdue}


@pytest.mark.parametrize(
    "who,may_check",
    [
        ("finance", True),
        ("sales_manager", True),
        ("general_manager", True),
        ("am1", False),
        ("rm_east", False),
    ],
)
def test_the_card_shows_the_credit_to_those_who_read_it(books, login_as, who, may_check):
    html = login_as(getattr(books, who)).get(CARD.format(books.c1.id)).get_data(as_text=True)
    want = _expected_figures(books.entries)
    assert want["overdue"] > 0 and want["outstanding"] > want["overdue"]  # the set-up holds
    assert _field(html, "card-outstanding") == f"{want['outstanding']:,.2f}"
    assert _field(html, "card-overdue") == f"{want['overdue']:,.2f}"
    assert _field(html, "card-credit-limit") == "20,000.00"
    assert _field(html, "card-utilisation") == (
        f"{rules.utilisation(want['outstanding'], Decimal('20000.00'))}%"
    )
    assert _field(html, "card-grade") == "B" and _field(html, "card-period") == "30"
    # the 20 newest, newest first; the oldest of the 21 is not shown
    assert _shown_references(html) == [e.reference for e in books.entries[:20]]
    assert books.entries[-1].reference not in _section(html)
    assert "OTHER-1" not in html and "7,777.00" not in html
    assert ('id="card-credit-check"' in html) is may_check


@pytest.mark.parametrize("who", ["clerk", "service"])
def test_roles_reading_the_card_but_not_the_credit_see_no_section(books, login_as, who):
    response = login_as(getattr(books, who)).get(CARD.format(books.c1.id))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and books.c1.name in html  # the card itself is read
    assert 'id="credit-section"' not in html
    assert f"{_expected_figures(books.entries)['outstanding']:.2f}" not in html
    assert "C-20" not in html


@pytest.mark.parametrize("who", ["am2", "am3", "rm_north"])
def test_a_customer_out_of_scope_is_still_not_found(books, login_as, who):
    assert login_as(getattr(books, who)).get(CARD.format(books.c1.id)).status_code == 404


def test_the_card_of_a_customer_with_no_credit_yet(books, login_as):
    html = login_as(books.am3).get(CARD.format(books.c3.id)).get_data(as_text=True)
    assert _field(html, "card-outstanding") == "0.00" and _field(html, "card-grade") == "—"
    assert 'id="credit-profile-link"' not in html
    assert _shown_references(html) == []


def test_the_links_open_this_customers_ledger_and_profile(books, login_as):
    web = login_as(books.am1)
    html = web.get(CARD.format(books.c1.id)).get_data(as_text=True)
    ledger_url = re.search(r'id="credit-ledger-link" href="([^"]+)"', html).group(1)
    listed = web.get(ledger_url.replace("&amp;", "&") + "&page_size=50").get_data(as_text=True)
    assert all(e.reference in listed for e in books.entries)  # all 21, the oldest too
    assert "OTHER-1" not in listed
    other = web.get(ledger_url.replace(f"={books.c1.id}", f"={books.c2.id}"))
    assert "OTHER-1" in login_as(books.sales_manager).get(
        ledger_url.replace(f"={books.c1.id}", f"={books.c2.id}")
    ).get_data(as_text=True)
    assert "OTHER-1" not in other.get_data(as_text=True)  # the filter never widens the scope
    profile_url = re.search(r'id="credit-profile-link" href="([^"]+)"', html).group(1)
    profile = web.get(profile_url)
    assert profile.status_code == 200 and books.c1.name in profile.get_data(as_text=True)


def _check_form(html: str) -> tuple[str, dict]:
    form = re.search(
        r'<form method="post" action="([^"]*credit_check/start)"[^>]*>(.*?)</form>', html, re.S
    )
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.group(2)))
    return form.group(1), {k: v.replace("&amp;", "&") for k, v in fields.items()}


@pytest.mark.parametrize("who", ["finance", "sales_manager"])
def test_the_credit_check_runs_from_the_card_and_returns_to_it(
    books, login_as, app, monkeypatch, who
):
    web = login_as(getattr(books, who))
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    card = CARD.format(books.c1.id)
    html = web.get(card).get_data(as_text=True)
    assert "alert-success" not in html
    action, fields = _check_form(html)
    assert fields["csrf_token"] and fields["client_id"] == str(books.c1.id)
    assert web.post(action, data={**fields, "csrf_token": "forged"}).status_code == 400
    assert db.session.scalars(select(CheckRun)).all() == []
    response = web.post(action, data=fields)
    assert response.status_code == 302 and response.location.endswith(card)
    run = db.session.scalars(select(CheckRun)).one()
    assert (run.client_ids, run.status) == ([books.c1.id], "done")
    assert run.result["overdue_customers"] == 1
    assert "alert-success" in web.get(card).get_data(as_text=True)  # its result, on the card


@pytest.mark.parametrize("who", ["am1", "rm_east"])
def test_no_check_button_for_who_may_not_check(books, login_as, who):
    web = login_as(getattr(books, who))
    assert "credit_check/start" not in web.get(CARD.format(books.c1.id)).get_data(as_text=True)
    assert web.post("/admin/credit_check/start", data={"client_id": books.c1.id}).status_code == 403
    assert db.session.scalars(select(CheckRun)).all() == []
