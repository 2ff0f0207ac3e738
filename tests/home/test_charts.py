"""Issue 15 point 5: every chart of the home pages counts only what its reader may see, is
absent (403) for a role without it, opens the list it counts, and its .xlsx says what its
JSON says."""

import re
from datetime import timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from crm import access
from crm.cards.models import MemberCard
from crm.complaints.models import Complaint
from crm.credit import checks as cs
from crm.credit import exposure
from crm.credit.models import CreditBalance, CreditProfile, LedgerEntry, OpenItem
from crm.extensions import db
from crm.reports import home
from crm.reviews import consumption
from crm.timeutil import local_today
from tests.reviews.support import Shop

ROLES = [
    access.ACCOUNT_MANAGER,
    access.REGIONAL_MANAGER,
    access.SALES_MANAGER,
    access.GENERAL_MANAGER,
    access.FINANCE,
    access.CLERK,
    access.ARCHIVIST,
    access.SERVICE,
    access.ADMIN,
]


@pytest.fixture
def data(world):
    """Sales of three customers (two regions, three account managers), credit, cards and
    complaints of each, the rollups built."""
    today = local_today()
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    shop = Shop()
    amounts = {
        world.c1: ("1000.00", "250.50"),
        world.c2: ("700.00", "30.00"),
        world.c3: ("5000.00", "1.00"),
    }
    for client, (a, b) in amounts.items():
        shop.sell(client, last_month, a)
        shop.sell(client, this_month, b, kind="catering")
    for client, (limit, owed) in {
        world.c1: (1000, 850),
        world.c2: (1000, 200),
        world.c3: (1000, 1200),
    }.items():
        db.session.add(
            CreditProfile(
                client_id=client.id, grade="A", credit_limit=Decimal(limit), period_days=30
            )
        )
        db.session.flush()
        db.session.merge(
            CreditBalance(
                client_id=client.id, outstanding=Decimal(owed), credit_limit=Decimal(limit)
            )
        )
    # one charge of c1's a month past its due date: c1 has overdue debts
    charge = LedgerEntry(
        client_id=world.c1.id,
        kind="charge",
        entry_date=today - timedelta(days=60),
        due_date=today - timedelta(days=30),
        amount=Decimal("100"),
        reference="B-1",
    )
    db.session.add(charge)
    db.session.flush()
    db.session.add(
        OpenItem(
            entry_id=charge.id,
            client_id=world.c1.id,
            kind="charge",
            entry_date=charge.entry_date,
            due_date=charge.due_date,
            open_amount=Decimal("100"),
        )
    )
    for i, client in enumerate((world.c1, world.c2, world.c3)):
        card = shop.card_of(client)
        card.expiry_date = today + timedelta(days=10 + 40 * i)
        db.session.add(
            Complaint(
                client_id=client.id,
                channel="phone",
                category="service" if i else "billing",
                description="x",
                status="open",
            )
        )
    db.session.flush()
    consumption.rollup(db.session, [last_month, this_month])
    exposure.refresh(db.session)
    db.session.commit()
    return world


def _json(c, name, status=200):
    r = c.get(f"/admin/chart/{name}.json")
    assert r.status_code == status, (name, r.status_code, r.data[:300])
    return r.get_json() if status == 200 else None


def _total(chart):
    return round(sum(sum(s["data"]) for s in chart["series"]), 2)


def test_each_role_gets_its_charts_and_no_other(data, login_as):
    for role in ROLES:
        user = getattr(
            data, {"account_manager": "am1", "regional_manager": "rm_east"}.get(role, role)
        )
        c = login_as(user)
        page = c.get("/admin/")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        mine = set(home.charts_for(user))
        assert mine, role  # every role has something on its home page
        for name in home.CHARTS:
            if name in mine:
                assert f'id="chart-{name}"' in text
                _json(c, name)
            else:
                assert f'id="chart-{name}"' not in text
                _json(c, name, 403)
                assert c.get(f"/admin/chart/{name}.xlsx").status_code == 403
        assert text.count('class="crm-chart"') == len(mine)
        assert "nonce=" in text and "vendor/echarts/echarts.min.js" in text
    assert _json(login_as(data.am1), "no_such_chart", 403) is None


def test_consumption_is_the_readers_own(data, login_as):
    def own(*clients):
        return sum(
            float(
                sum(
                    consumption.per_customer(db.session, p, [c.id for c in clients]).values(),
                    Decimal(0),
                )
            )
            for p in {
                consumption.Period.containing("month", m.date())
                for m in [date_of(local_today(), 0), date_of(local_today(), 1)]
            }
        )

    am1 = _json(login_as(data.am1), "consumption_trend")
    assert _total(am1) == pytest.approx(own(data.c1)) == pytest.approx(1250.50)
    rm = _json(login_as(data.rm_east), "consumption_trend")
    assert _total(rm) == pytest.approx(own(data.c1, data.c2)) == pytest.approx(1980.50)
    sm = _json(login_as(data.sales_manager), "consumption_trend")
    assert _total(sm) == pytest.approx(6981.50)
    side = _json(login_as(data.rm_east), "consumption_by_manager")
    assert sorted(side["categories"]) == sorted([data.am1.full_name, data.am2.full_name])
    assert _total(side) == pytest.approx(1980.50)


def date_of(today, months_back):
    from datetime import datetime

    first = today.replace(day=1)
    for _i in range(months_back):
        first = (first - timedelta(days=1)).replace(day=1)
    return datetime(first.year, first.month, 1)


def _list_count(c, url) -> int:
    r = c.get(url)
    assert r.status_code == 200, url
    text = r.get_data(as_text=True)
    found = re.search(r"(?:列表|List) \((\d+)\)", text)
    if found is None:  # an empty list names no count
        assert "没有记录" in text or "There are no items" in text, url
        return 0
    return int(found.group(1))


@pytest.mark.parametrize(
    "reader,name",
    [
        ("sales_manager", "credit_use"),
        ("finance", "credit_use"),
        ("clerk", "card_expiries"),
        ("sales_manager", "complaints"),
        ("service", "complaints"),
        ("admin", "users_by_role"),
        ("sales_manager", "card_expiries"),
    ],
)
def test_a_figure_opens_the_list_it_counts(data, login_as, reader, name):
    c = login_as(getattr(data, reader))
    chart = _json(c, name)
    opened = 0
    for s, links in zip(chart["series"], chart["links"], strict=True):
        for value, url in zip(s["data"], links, strict=True):
            assert url, (name, s["name"])
            if value or opened < 2:
                assert _list_count(c, url) == value, (name, s["name"], url)
                opened += 1
    assert opened


def test_credit_use_counts_the_check(data, login_as):
    chart = _json(login_as(data.finance), "credit_use")
    levels = [str(t) for t in cs.thresholds()] + [cs.OVER_LIMIT]
    assert chart["series"][0]["data"] == [
        {"80": 2, "90": 1, cs.OVER_LIMIT: 1}.get(lv, 0) for lv in levels
    ] + [1]  # c1 overdue


def test_today_counts_open_their_lists(data, login_as):
    c = login_as(data.am1)
    text = c.get("/admin/").get_data(as_text=True)
    assert "home-today" in text
    with c.application.test_request_context():
        from crm.access import set_actor

        set_actor(data.am1)
        tiles = home.today_work(db.session, data.am1)
    by_label = {str(label): (n, url) for label, n, url in tiles}
    n, url = (
        by_label["Open complaints"]
        if "Open complaints" in by_label
        else next(v for k, v in by_label.items() if "投诉" in k)
    )
    assert n == 1  # her one customer's, not the three
    assert _list_count(c, url) == 1
    n, url = next(v for k, v in by_label.items() if "overdue" in k or "逾期" in k)
    assert n == 1 and _list_count(c, url) == 1
    am2 = login_as(data.am2)
    assert _list_count(am2, url) == 0  # c1 is not hers


def test_every_tile_of_today_counts_the_list_it_opens(data, login_as):
    from crm.access import set_actor
    from crm.intake.models import FirstContact
    from crm.notifications.models import Notification

    today = local_today()
    for user in (data.am1, data.am2):
        db.session.add_all(
            [
                Notification(
                    recipient_id=user.id, event_key="g", kind="greeting", title="生日", body="问候"
                ),
                Notification(
                    recipient_id=user.id, event_key="r", kind="revisit", title="回访", body="到期"
                ),
                FirstContact(name="新客", contact_date=today, owner_id=user.id),
            ]
        )
    db.session.add(
        FirstContact(name="已登记", contact_date=today, owner_id=data.am1.id, client_id=data.c1.id)
    )
    db.session.commit()
    c = login_as(data.am1)
    with c.application.test_request_context():
        set_actor(data.am1)
        tiles = home.today_work(db.session, data.am1)
    counted = 0
    for label, n, url in tiles:
        assert url, label
        assert _list_count(c, url) == n, (str(label), url)
        counted += n > 0
    assert counted >= 5  # greetings, registrations, credit, overdue, complaints at least


def test_xlsx_equals_json(data, login_as):
    c = login_as(data.sales_manager)
    for name in home.charts_for(data.sales_manager):
        chart = _json(c, name)
        r = c.get(f"/admin/chart/{name}.xlsx")
        assert r.status_code == 200
        rows = list(load_workbook(BytesIO(r.data)).active.iter_rows(values_only=True))
        assert list(rows[0]) == [chart["category_label"], *(s["name"] for s in chart["series"])]
        assert [r[0] for r in rows[1:]] == chart["categories"]
        for j, s in enumerate(chart["series"]):
            assert [float(r[j + 1] or 0) for r in rows[1:]] == pytest.approx(
                [float(v) for v in s["data"]]
            ), name


def test_regional_manager_sees_no_other_region(data, login_as):
    db.session.execute(update(MemberCard).values(expiry_date=local_today() + timedelta(days=5)))
    db.session.commit()
    north = _json(login_as(data.rm_north), "consumption_trend")
    assert _total(north) == pytest.approx(5001.00)


def test_regional_manager_watch_tiles_open_the_watch_list(data, login_as):
    from datetime import datetime

    from crm.reviews.models import WatchEntry

    month = local_today().replace(day=1)
    for client, handled in ((data.c1, True), (data.c2, False), (data.c3, False)):
        db.session.add(
            WatchEntry(
                month=month,
                client_id=client.id,
                owner_id=client.owner_id,
                region_id=client.region_id,
                reasons=[["level", "K"]],
                handled_at=datetime(2026, 1, 1) if handled else None,
                action_taken="已回访" if handled else None,
            )
        )
    db.session.commit()
    c = login_as(data.rm_east)
    text = c.get("/admin/").get_data(as_text=True)
    urls = re.findall(r'<div class="h3 crm-count"><a href="([^"]+)">(\d+)</a>', text)
    assert [int(n) for _u, n in urls] == [2, 1]  # the east's two, one untouched
    for url, n in urls:
        assert _list_count(c, url.replace("&amp;", "&")) == int(n)


def test_a_consumption_bar_opens_the_sales_or_card_uses_it_sums(data, login_as):
    from datetime import datetime

    this_month = local_today().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    shop = Shop()
    # 00:30 on the 1st in the company's zone (UTC+8) is the previous day in UTC: this month's
    early = datetime.combine(this_month, datetime.min.time()) - timedelta(hours=7, minutes=30)
    shop.use(data.c1, early, "88.00")
    shop.use(data.c1, early, "99.00", accepted=False)  # refused: neither summed nor listed
    consumption.rollup(db.session, [last_month, this_month])
    db.session.commit()
    c = login_as(data.am1)
    chart = _json(c, "consumption_trend")
    months = chart["categories"]
    by_name = {
        s["name"]: (s["data"], links)
        for s, links in zip(chart["series"], chart["links"], strict=True)
    }
    cards = next(v for k, v in by_name.items() if k in ("Card uses", "用卡记录"))
    values, links = cards
    now = months.index(this_month.strftime("%Y-%m"))
    assert values[now] == 88.0 and _list_count(c, links[now]) == 1
    before = months.index(last_month.strftime("%Y-%m"))
    assert values[before] == 0 and _list_count(c, links[before]) == 0
    sales = [(v, ls) for k, (v, ls) in by_name.items() if (v, ls) != cards]
    opened = 0
    for values, links in sales:
        for value, url in zip(values, links, strict=True):
            assert url
            if value:  # each of c1's sales is one record of its kind in its month
                assert _list_count(c, url) == 1
                opened += 1
    assert opened == 2
    assert _list_count(login_as(data.am2), cards[1][now]) == 0  # not her customer's use
