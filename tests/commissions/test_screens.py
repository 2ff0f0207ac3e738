from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.commissions import rules, services
from crm.commissions.models import CommissionStatement, Promoter, PromotionScheme, SalesRecord
from crm.extensions import db
from tests.commissions.support import sell, statement


@pytest.fixture
def sold(shop):
    services.set_inviter(db.session, shop.world.c3.id, shop.staff, shop.before)
    shop.c1_sale = sell(shop, "30000", shop.last)
    shop.c3_sale = sell(shop, "40000", shop.last, client=shop.world.c3)
    return shop


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("am1", {"c1"}),
        ("am3", {"c3"}),
        ("rm_east", {"c1"}),
        ("finance", {"c1", "c3"}),
        ("sales_manager", {"c1", "c3"}),
    ],
)
def test_sales_are_scoped(sold, login_as, who, sees):
    c = login_as(getattr(sold.world, who))
    for key, sale in (("c1", sold.c1_sale), ("c3", sold.c3_sale)):
        status = c.get(f"/admin/sale/details/?id={sale.id}").status_code
        assert status == (200 if key in sees else 404), (who, key)


def test_recording_a_sale_on_screen_computes_the_commission(sold, login_as):
    c = login_as(sold.world.am1)
    r = c.post(
        "/admin/sale/new/",
        data={
            "client": str(sold.world.c1.id),
            "scheme": str(sold.scheme.id),
            "product_kind": "catering",
            "amount": "8000",
            "sold_on": sold.this.isoformat(),
        },
    )
    assert r.status_code == 302
    sale = db.session.scalars(select(SalesRecord).where(SalesRecord.amount == 8000)).one()
    assert (sale.commission, sale.promoter_id) == (Decimal("400.00"), sold.outside.id)
    r = c.post(
        "/admin/sale/new/",
        data={
            "client": str(sold.world.c3.id),
            "scheme": str(sold.scheme.id),
            "product_kind": "catering",
            "amount": "8000",
            "sold_on": sold.this.isoformat(),
        },
    )
    assert db.session.scalars(select(SalesRecord).where(SalesRecord.amount == 8000)).all() == [
        sale
    ]  # c3 is not am1's customer


def test_correcting_a_sale_on_screen_adds_an_adjustment(sold, login_as):
    c = login_as(sold.world.am1)
    r = c.post(
        f"/admin/sale/edit/?id={sold.c1_sale.id}",
        data={"product_kind": "membership", "amount": "31000", "change_reason": "补差"},
    )
    assert r.status_code == 302
    month = statement(sold, sold.outside, rules.month_of(sold.last))
    db.session.refresh(month)
    assert [ln.amount for ln in month.lines] == [Decimal("3000.00"), Decimal("100.00")]


def test_statements_are_confirmed_by_a_manager_only(sold, login_as):
    month = statement(sold, sold.outside, rules.month_of(sold.last))
    am1 = login_as(sold.world.am1)
    assert am1.get(f"/admin/commission_statement/details/?id={month.id}").status_code == 404
    assert (
        am1.post("/admin/commission_statement/confirm/", data={"id": month.id}).status_code == 404
    )  # not hers: out of scope
    own = statement(sold, sold.staff, rules.month_of(sold.last))
    assert (
        am1.post("/admin/commission_statement/confirm/", data={"id": own.id}).status_code == 403
    )  # hers, but reading only
    finance = login_as(sold.world.finance)
    page = finance.get(f"/admin/commission_statement/details/?id={month.id}")
    assert page.status_code == 200 and 'id="confirm-form"' not in page.get_data(as_text=True)
    assert (
        finance.post("/admin/commission_statement/confirm/", data={"id": month.id}).status_code
        == 403
    )
    db.session.expire_all()
    assert db.session.get(CommissionStatement, month.id).status == "open"
    manager = login_as(sold.world.sales_manager)
    page = manager.get(f"/admin/commission_statement/details/?id={month.id}")
    assert 'id="confirm-form"' in page.get_data(as_text=True)
    manager.post("/admin/commission_statement/confirm/", data={"id": month.id})
    db.session.expire_all()
    confirmed = db.session.get(CommissionStatement, month.id)
    assert confirmed.status == "confirmed" and confirmed.total == Decimal("3000.00")


def test_schemes_and_promoters_are_set_by_managers(sold, login_as):
    am1 = login_as(sold.world.am1)
    assert am1.get("/admin/scheme/").status_code == 403
    rm = login_as(sold.world.rm_east)
    assert rm.get("/admin/scheme/").status_code == 200
    assert rm.get(f"/admin/scheme/edit/?id={sold.scheme.id}").status_code == 403
    manager = login_as(sold.world.sales_manager)
    page = manager.get(f"/admin/scheme/edit/?id={sold.scheme.id}").get_data(as_text=True)
    assert "membership=10%" in page
    r = manager.post(
        "/admin/scheme/new/",
        data={
            "name": "大客户阶梯",
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
            "rule_kind": "tiered",
            "rates_text": "0=2%\n100000=4%",
        },
    )
    assert r.status_code == 302
    scheme = db.session.scalars(
        select(PromotionScheme).where(PromotionScheme.name == "大客户阶梯")
    ).one()
    assert scheme.rates == [["0", "0.02"], ["100000", "0.04"]]
    manager.post(
        "/admin/promoter/new/", data={"name": "外联 小李", "kind": "external", "active": "y"}
    )
    assert db.session.scalars(select(Promoter).where(Promoter.name == "外联 小李")).one()


# Issue 14: an account manager reads her own monthly statements (and nobody else's); the
# managers and finance read every one; the other roles have no such screen.
EVERY_STATEMENT = {"staff", "outside"}


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("am1", {"staff"}),
        ("am2", set()),
        ("am3", set()),
        ("rm_east", set()),
        ("rm_north", set()),
        ("sales_manager", EVERY_STATEMENT),
        ("general_manager", EVERY_STATEMENT),
        ("finance", EVERY_STATEMENT),
        ("clerk", None),
        ("service", None),
        ("archivist", None),
        ("admin", None),
    ],
)
def test_each_role_reads_the_statements_the_policy_gives_it(sold, login_as, who, sees):
    month = rules.month_of(sold.last)
    statements = {
        "staff": statement(sold, sold.staff, month),  # am1's own (c3's sale)
        "outside": statement(sold, sold.outside, month),
    }
    c = login_as(getattr(sold.world, who))
    listing = c.get("/admin/commission_statement/")
    if sees is None:
        assert listing.status_code == 403
        for row in statements.values():
            assert c.get(f"/admin/commission_statement/details/?id={row.id}").status_code == 403
        return
    assert listing.status_code == 200
    text = listing.get_data(as_text=True)
    for key, row in statements.items():
        assert (f"details/?id={row.id}&" in text) == (key in sees), (who, key)
        page = c.get(f"/admin/commission_statement/details/?id={row.id}")
        assert page.status_code == (200 if key in sees else 404), (who, key)


def test_an_account_manager_reads_her_own_statement_with_its_lines(sold, login_as):
    mine = statement(sold, sold.staff, rules.month_of(sold.last))
    page = login_as(sold.world.am1).get(f"/admin/commission_statement/details/?id={mine.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "4,000.00" in text  # 10% of c3's 40,000 membership sale
    assert 'id="confirm-form"' not in text  # reading is not confirming


def test_a_sale_entered_by_someone_who_cannot_read_the_statement_still_counts(sold, login_as):
    """The sale goes on its promoter's open statement whoever enters it (no second statement
    of the month for a promoter the seller cannot see)."""
    c = login_as(sold.world.am1)
    r = c.post(
        "/admin/sale/new/",
        data={
            "client": str(sold.world.c1.id),
            "scheme": str(sold.scheme.id),
            "product_kind": "catering",
            "amount": "8000",
            "sold_on": sold.last.isoformat(),
        },
    )
    assert r.status_code == 302
    month = statement(sold, sold.outside, rules.month_of(sold.last))
    db.session.refresh(month)
    assert [ln.amount for ln in month.lines] == [Decimal("3000.00"), Decimal("400.00")]
