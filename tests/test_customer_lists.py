"""Finding things in the lists (issue 14 point 5): the customer's name links to its card on every
list where a customer appears; every list of a customer's records is filtered by the customer's
name or code and the filter stays within the reader's scope; totals rows add up exactly the
rows found."""

import re
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from crm.access import set_actor
from crm.admin.formatters import CustomerFilter, customer_condition
from crm.cards import services as cards
from crm.clients.models import Client
from crm.commissions import services as commissions
from crm.commissions.models import SalesRecord
from crm.complaints import services as complaints
from crm.complaints.models import Complaint
from crm.contracts import services as contracts
from crm.contracts.models import Contract
from crm.credit import ledger
from crm.credit.models import LedgerEntry
from crm.extensions import db
from tests import factories
from tests.archives.conftest import make_doc
from tests.cards.conftest import make_type
from tests.commissions.support import sell, shop  # noqa: F401
from tests.conftest import IS_POSTGRES
from tests.credit.conftest import give_profile
from tests.records.support import act  # noqa: F401
from tests.scale.test_search_index import (  # noqa: F401
    GRAMS,
    TRIGRAMS,
    _answers,
    _plans,
    analysed,
    scene,
)

# Every list of a customer's records: (endpoint, URL).
CHILD_LISTS = {
    "contract": "/admin/contract/",
    "credit_profile": "/admin/credit_profile/",
    "credit_ledger": "/admin/credit_ledger/",
    "card": "/admin/card/",
    "card_use": "/admin/card_use/",
    "complaint": "/admin/complaint/",
    "archive_document": "/admin/archive_document/",
    "sale": "/admin/sale/",
    "contactlog": "/admin/contactlog/",
    "keyperson": "/admin/keyperson/",
}


@pytest.fixture(autouse=True)
def _archive_root(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "ARCHIVE_ROOT", str(tmp_path / "archive"))


@pytest.fixture
def records(world, shop, act):  # noqa: F811
    """For c1 and c2 (east) and c3 (north): a row in every list of a customer's records.
    Member cards are for individuals: each company has an individual twin holding the card,
    named after it so that the name filter finds both."""
    w = SimpleNamespace(world=world, holders={})
    gold = make_type("GOLD", "金卡", "0.90", ("500", "400", "50"))
    for n, c in enumerate((world.c1, world.c2, world.c3), 1):
        contracts.add_contract(
            db.session,
            Contract(
                client_id=c.id, kind="membership", title="会籍协议", amount=Decimal("12000.00")
            ),
        )
        give_profile(c, "10000.00")
        ledger.record_charge(db.session, c.id, f"{n}000.50", date(2026, 9, 1), f"A-{c.id}")
        ledger.record_charge(db.session, c.id, f"{n}00.25", date(2026, 9, 2), f"B-{c.id}")
        make_doc(c, form="paper", content=None)
        if c is not world.c1:  # the shop's c1 was invited by the outside promoter
            commissions.set_inviter(db.session, c.id, shop.staff, shop.before)
        sell(shop, f"{n}0000", shop.last, client=c)
        id_number = factories.valid_id_number(seq=300 + n)
        holder = factories.create_client(
            c.owner,
            name=c.name[:4] + "会员",
            kind="individual",
            credit_code=None,
            id_number=id_number,
        )
        card = cards.issue_card(db.session, holder, gold, id_number, today=date(2026, 1, 31))
        cards.record_use(
            db.session, card.number, holder.name, "餐厅", Decimal("88.00"), today=date(2026, 2, 1)
        )
        w.holders[c.id] = holder
        act(world.service)
        complaints.record_complaint(
            db.session,
            Complaint(client_id=c.id, channel="phone", category="service", description="上菜慢"),
        )
        act(None)
        db.session.commit()
    return w


def customers_linked(html: str) -> set[int]:
    """The customers whose card the page links to by name."""
    return {
        int(i)
        for i in re.findall(
            r'class="crm-client-link" href="/admin/client/details/\?id=(\d+)"', html
        )
    }


def owner_ids(w, *clients) -> set[int]:
    """A customer and, for the card lists, its individual twin."""
    return {c.id for c in clients} | {w.holders[c.id].id for c in clients}


def holder_of(w, endpoint: str, client):
    """The customer whose rows a list shows for `client`: its card-holding twin on the card
    lists, itself elsewhere."""
    return w.holders[client.id] if endpoint in ("card", "card_use") else client


def filter_arg(app, endpoint: str, kind=CustomerFilter) -> str:
    admin = app.extensions["admin"][0]
    [view] = [v for v in admin._views if v.endpoint == endpoint]
    [(i, flt)] = [(i, f) for i, f in enumerate(view._filters) if isinstance(f, kind)]
    return f"flt0_{view.get_filter_arg(i, flt)}"


def test_the_customer_list_links_each_name_to_its_card(world, login_as):
    html = login_as(world.sales_manager).get("/admin/client/").get_data(as_text=True)
    assert customers_linked(html) == {world.c1.id, world.c2.id, world.c3.id}
    assert (f'href="/admin/client/details/?id={world.c1.id}">{world.c1.name}</a>') in html


@pytest.mark.parametrize("endpoint", sorted(CHILD_LISTS))
def test_each_list_of_a_customers_records_links_the_name_to_the_card(records, login_as, endpoint):
    w = records.world
    page = login_as(w.sales_manager).get(CHILD_LISTS[endpoint])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    linked = customers_linked(html)
    assert {w.c1.id, w.c2.id, w.c3.id} & linked or owner_ids(records, w.c1) & linked
    assert linked <= owner_ids(records, w.c1, w.c2, w.c3)


@pytest.mark.parametrize("endpoint", sorted(CHILD_LISTS))
@pytest.mark.parametrize("term", ["甲贸", "name", "code"])
def test_the_customer_filter_finds_only_that_customers_rows(records, app, login_as, endpoint, term):
    w = records.world
    subject = holder_of(records, endpoint, w.c1)
    term = {"code": subject.code, "name": subject.name}.get(term, term)
    c = login_as(w.sales_manager)
    url = f"{CHILD_LISTS[endpoint]}?{filter_arg(app, endpoint)}={term}"
    html = c.get(url).get_data(as_text=True)
    linked = customers_linked(html)
    assert linked and linked <= owner_ids(records, w.c1), (endpoint, term)
    everyone = customers_linked(c.get(CHILD_LISTS[endpoint]).get_data(as_text=True))
    assert everyone - owner_ids(records, w.c1)  # without the filter the others are there


@pytest.mark.parametrize("endpoint", sorted(CHILD_LISTS))
def test_the_customer_filter_stays_within_the_readers_scope(records, app, login_as, endpoint):
    w = records.world
    c = login_as(w.am1)  # sees c1 only
    for other in (holder_of(records, endpoint, w.c2), holder_of(records, endpoint, w.c3)):
        html = c.get(f"{CHILD_LISTS[endpoint]}?{filter_arg(app, endpoint)}={other.code}").get_data(
            as_text=True
        )
        assert customers_linked(html) == set() and other.name not in html
    mine = holder_of(records, endpoint, w.c1)
    html = c.get(f"{CHILD_LISTS[endpoint]}?{filter_arg(app, endpoint)}={mine.code}").get_data(
        as_text=True
    )
    assert customers_linked(html)


def totals(html: str) -> list[str]:
    return re.findall(r'class="text-right crm-total">([^<]*)<', html)


def money(d) -> str:
    return f"{Decimal(d).quantize(Decimal('0.01')):,}"


def test_the_ledger_total_is_the_sum_of_the_filtered_rows_on_every_page(records, app, login_as):
    w = records.world
    c = login_as(w.finance)
    arg = filter_arg(app, "credit_ledger")
    html = c.get(f"/admin/credit_ledger/?{arg}={w.c2.code}&page_size=1").get_data(as_text=True)
    c2 = db.session.scalar(
        select(func.sum(LedgerEntry.amount)).where(LedgerEntry.client_id == w.c2.id)
    )
    assert c2 == Decimal("2200.75") and totals(html) == [money(c2)]  # both rows, one shown
    every = db.session.scalar(select(func.sum(LedgerEntry.amount)))
    assert totals(c.get("/admin/credit_ledger/").get_data(as_text=True)) == [money(every)]
    mine = db.session.scalar(
        select(func.sum(LedgerEntry.amount)).where(LedgerEntry.client_id == w.c1.id)
    )
    assert totals(login_as(w.am1).get("/admin/credit_ledger/").get_data(as_text=True)) == [
        money(mine)
    ]  # the scope narrows the totals as it narrows the rows


def test_the_ledger_totals_are_per_kind_of_entry(records, app, login_as):
    w = records.world
    set_actor(w.finance)
    ledger.record_payment(db.session, w.c1.id, "500.00", date(2026, 9, 5), "PAY-1")
    db.session.commit()
    html = (
        login_as(w.finance)
        .get(f"/admin/credit_ledger/?{filter_arg(app, 'credit_ledger')}={w.c1.code}")
        .get_data(True)
    )
    assert totals(html) == [money("1100.75"), money("500.00")]


def test_the_aging_report_has_a_totals_row(records, login_as):
    w = records.world
    html = login_as(w.finance).get("/admin/credit_aging/").get_data(as_text=True)
    foot = re.search(r'id="aging-totals">(.*?)</tr>', html, re.S).group(1)
    cells = re.findall(r'<td class="text-right">([^<]*)</td>', foot)
    assert cells[-1] == str(sum(Decimal(f"{n}000.50") + Decimal(f"{n}00.25") for n in (1, 2, 3)))
    rows = re.findall(r"<tr><td>.*?</tr>", html.split('id="aging-totals"')[0], re.S)
    assert len(rows) == 3 and customers_linked(html) == {w.c1.id, w.c2.id, w.c3.id}
    csv = login_as(w.finance).get("/admin/credit_aging/?format=csv").get_data(as_text=True)
    assert csv.strip().splitlines()[-1].endswith(cells[-1])
    east = login_as(w.rm_east).get("/admin/credit_aging/").get_data(as_text=True)
    foot = re.search(r'id="aging-totals">(.*?)</tr>', east, re.S).group(1)
    assert re.findall(r'<td class="text-right">([^<]*)</td>', foot)[-1] == "3301.50"


def test_the_sales_list_totals_amount_and_commission_of_the_rows_found(records, app, login_as):
    w = records.world
    c = login_as(w.sales_manager)
    html = c.get(f"/admin/sale/?{filter_arg(app, 'sale')}={w.c2.code}").get_data(as_text=True)
    amount, commission = db.session.execute(
        select(func.sum(SalesRecord.amount), func.sum(SalesRecord.commission)).where(
            SalesRecord.client_id == w.c2.id
        )
    ).one()
    assert totals(html) == [money(amount), money(commission)]
    assert amount == Decimal("20000")
    every = db.session.execute(select(func.sum(SalesRecord.amount))).scalar()
    assert totals(c.get("/admin/sale/").get_data(as_text=True))[0] == money(every)


def test_the_credit_check_result_leads_to_the_customers_over_each_level(world, login_as):
    """c1 owes 85% of its limit, c2 95%, c3 110%: the check's counts link to the credit
    profiles filtered to the customers at or over 80%, 90% and the limit."""
    set_actor(world.finance)
    profiles = {}
    for c, owed in ((world.c1, "8500.00"), (world.c2, "9500.00"), (world.c3, "11000.00")):
        profiles[c.id] = give_profile(c, "10000.00").id
        ledger.record_charge(
            db.session,
            c.id,
            owed,
            date(2026, 9, 1),
            f"R-{c.id}",
            override_reason="测试超额" if c is world.c3 else None,
            override_by=world.sales_manager if c is world.c3 else None,
        )
    db.session.commit()
    c = login_as(world.finance)
    r = c.post(
        "/admin/credit_profile/action/",
        data={"action": "credit_check", "rowid": list(profiles.values())},
        follow_redirects=True,
    )
    html = r.get_data(as_text=True)
    links = dict(re.findall(r'class="crm-over-(\w+)" href="([^"]+)"', html))
    assert set(links) == {"80", "90", "over"}
    expect = {
        "80": {world.c1.id, world.c2.id, world.c3.id},
        "90": {world.c2.id, world.c3.id},
        "over": {world.c3.id},
    }
    for level, url in links.items():
        page = c.get(url.replace("&amp;", "&"))
        assert page.status_code == 200
        assert customers_linked(page.get_data(as_text=True)) == expect[level], level


@pytest.mark.skipif(not IS_POSTGRES, reason="index plans are PostgreSQL's")
@pytest.mark.parametrize(
    ("term", "index", "condition"),
    [
        ("华", "ix_clients_grams_name", GRAMS.format("name")),
        ("华东", "ix_clients_grams_short_name", GRAMS.format("short_name")),
        ("华东甲", "ix_clients_trgm_name", TRIGRAMS.format("name")),
        ("KH000", "ix_clients_trgm_code", TRIGRAMS.format("code")),
    ],
)
def test_the_customer_filter_is_answered_by_the_customers_name_indexes(
    analysed,  # noqa: F811
    term,
    index,
    condition,
):
    """The filter is `client_id IN (SELECT clients.id WHERE <condition>)`; its condition is read
    through the name and code indexes of migrations 0009 and 0011 (the customers table is never
    read whole), as the customer list's own search is."""
    stmt = select(Client.id).where(customer_condition(term)).compile(dialect=db.engine.dialect)
    [plan] = _plans([(str(stmt), stmt.params)])
    assert _answers(plan, index, condition), plan
