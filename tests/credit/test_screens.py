from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm.credit import ledger as credit_ledger
from crm.credit.models import CheckRun, CreditProfile, CreditReview, LedgerEntry
from crm.extensions import db


@pytest.fixture
def ledger(credit_world):
    w = credit_world
    # no sum of two amounts equals a third: the totals rows add them up
    for c, amount in ((w.c1, "1111.00"), (w.c2, "2222.00"), (w.c3, "4444.00")):
        credit_ledger.record_charge(db.session, c.id, amount, date(2026, 9, 1), f"REF-{c.id}")
    db.session.commit()
    w.profiles = {p.client_id: p.id for p in db.session.scalars(select(CreditProfile))}
    return w


def visible(c, url):
    body = c.get(url).get_data(as_text=True).replace(",", "")  # amounts show separators
    return {n for n in ("1111.00", "2222.00", "4444.00") if n in body}


@pytest.mark.parametrize(
    "who,seen",
    [
        ("am1", {"1111.00"}),
        ("am3", {"4444.00"}),
        ("rm_east", {"1111.00", "2222.00"}),
        ("finance", {"1111.00", "2222.00", "4444.00"}),
        ("sales_manager", {"1111.00", "2222.00", "4444.00"}),
    ],
)
def test_each_role_sees_the_credit_of_its_customers_only(ledger, login_as, who, seen):
    c = login_as(getattr(ledger, who))
    assert visible(c, "/admin/credit_ledger/") == seen
    assert visible(c, "/admin/credit_profile/") == seen
    assert visible(c, "/admin/credit_aging/") == seen
    assert visible(c, "/admin/credit_aging/?group=owner") == seen  # one manager a customer
    total = f"{sum(Decimal(n) for n in seen):.2f}"  # the east region's two, or one a region
    assert total in c.get("/admin/credit_aging/?group=region").get_data(True) or who in (
        "finance",
        "sales_manager",
    )
    for client in (ledger.c1, ledger.c2, ledger.c3):
        shown = {ledger.c1: "1111.00", ledger.c2: "2222.00", ledger.c3: "4444.00"}[client]
        r = c.get(f"/admin/credit_profile/details/?id={ledger.profiles[client.id]}")
        assert r.status_code == (200 if shown in seen else 404)


@pytest.mark.parametrize("who", ["clerk", "service", "archivist", "admin"])
def test_roles_without_credit_are_turned_away(ledger, login_as, who):
    c = login_as(getattr(ledger, who))
    for url in (
        "/admin/credit_ledger/",
        "/admin/credit_profile/",
        "/admin/credit_aging/",
        "/admin/credit_review/",
        "/admin/credit_check/",
    ):
        assert c.get(url).status_code == 403


def test_the_aging_report_exports_what_the_user_sees(ledger, login_as):
    body = login_as(ledger.am1).get("/admin/credit_aging/?format=csv").get_data(as_text=True)
    assert "1111.00" in body and "2222.00" not in body


def test_ledger_entries_are_added_through_the_rules_and_never_edited(ledger, login_as):
    am1 = login_as(ledger.am1)
    before = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    r = am1.post(
        "/admin/credit_ledger/new/",
        data={
            "client": ledger.c1.id,
            "kind": "charge",
            "source": "bill",
            "entry_date": "2026-11-20",
            "amount": "9000",
            "reference": "OVER",
        },
        follow_redirects=True,
    )
    assert "10111.00" in r.get_data(as_text=True)  # the refusal says what would be owed
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == before
    finance = login_as(ledger.finance)
    finance.post(
        "/admin/credit_ledger/new/",
        data={
            "client": ledger.c1.id,
            "kind": "payment",
            "entry_date": "2026-11-20",
            "amount": "111",
            "reference": "RCPT-9",
        },
    )
    owed = credit_ledger.client_credit(db.session, ledger.c1.id)["outstanding"]
    assert owed == Decimal("1000.00")
    entry = db.session.scalars(select(LedgerEntry).where(LedgerEntry.reference == "RCPT-9")).one()
    assert entry.recorded_by_id == ledger.finance.id
    assert finance.get(f"/admin/credit_ledger/edit/?id={entry.id}").status_code in (302, 403)
    finance.post("/admin/credit_ledger/delete/", data={"id": entry.id, "reason": "x"})
    assert db.session.get(LedgerEntry, entry.id) is not None
    finance.post(
        "/admin/credit_ledger/new/",
        data={"kind": "reversal", "reverses": entry.id, "entry_date": "2026-11-21", "note": "退票"},
    )
    owed = credit_ledger.client_credit(db.session, ledger.c1.id)["outstanding"]
    assert owed == Decimal("1111.00")


def test_the_review_chain_on_screen(world, login_as):
    am1 = login_as(world.am1)
    am1.post(
        "/admin/credit_review/new/",
        data={
            "client": world.c1.id,
            "grade": "A",
            "credit_limit": "20000",
            "period_days": "30",
            "situation": "经营稳定",
        },
    )
    review = db.session.scalars(select(CreditReview)).one()
    assert (
        login_as(world.am2).get(f"/admin/credit_review/details/?id={review.id}").status_code == 404
    )
    for user in (world.rm_east, world.sales_manager, world.general_manager):
        login_as(user).post(
            f"/admin/credit_review/edit/?id={review.id}",
            data={"decision": "approve", "opinion": "同意"},
        )
        db.session.expire_all()
    assert db.session.get(CreditReview, review.id).status == "approved"
    assert credit_ledger.profile_of(db.session, world.c1.id).credit_limit == Decimal("20000.00")
    profile = credit_ledger.profile_of(db.session, world.c1.id)
    page = am1.get(f"/admin/credit_profile/details/?id={profile.id}")
    assert "同意" in page.get_data(as_text=True)


def test_finance_checks_one_selected_or_all_customers(ledger, login_as, app, monkeypatch):
    finance = login_as(ledger.finance)
    finance.post("/admin/credit_check/start", data={"client_id": ledger.c3.id})
    finance.post(
        "/admin/credit_profile/action/",
        data={"action": "credit_check", "rowid": list(ledger.profiles.values())},
    )
    queued = []
    monkeypatch.setattr("crm.tasks.credit.run_check.delay", queued.append)
    finance.post("/admin/credit_check/start")
    runs = db.session.scalars(select(CheckRun).order_by(CheckRun.id)).all()
    assert [(r.scope, r.status) for r in runs] == [
        ("selected", "done"),
        ("selected", "done"),
        ("all", "queued"),
    ]
    assert runs[1].result["customers"] == 3 and queued == [runs[2].id]
    from crm.tasks.credit import run_check

    run_check(runs[2].id)  # what the worker does
    db.session.expire_all()
    assert db.session.get(CheckRun, runs[2].id).status == "done"
    assert "100%" in finance.get("/admin/credit_check/").get_data(as_text=True)
    assert login_as(ledger.am1).post("/admin/credit_check/start").status_code == 403


def test_plans_and_deferrals_are_filed_on_screen(ledger, login_as):
    rm = login_as(ledger.rm_east)
    charge = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.client_id == ledger.c1.id)
    ).one()
    rm.post(
        "/admin/credit_deferral/new/",
        data={"charge": charge.id, "new_due_date": "2026-12-31", "reason": "春节前结清"},
    )
    assert credit_ledger.client_credit(db.session, ledger.c1.id)["overdue"] == Decimal("0.00")
    am1 = login_as(ledger.am1)
    assert am1.get("/admin/credit_deferral/new/").status_code in (302, 403)
    am1.post(
        "/admin/credit_plan/new/",
        data={
            "client": ledger.c1.id,
            "kind": "agreement",
            "signed_on": "2026-11-20",
            "amount": "1111",
            "schedule": "12月、1月各还一半",
        },
    )
    assert "12月、1月各还一半" in am1.get("/admin/credit_plan/").get_data(as_text=True)
    assert "12月、1月各还一半" not in login_as(ledger.am2).get("/admin/credit_plan/").get_data(
        as_text=True
    )
    assert "春节前结清" not in login_as(ledger.am3).get("/admin/credit_deferral/").get_data(
        as_text=True
    )
