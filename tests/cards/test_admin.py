from datetime import timedelta
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from crm.cards import services
from crm.cards.models import CardUse, MemberCard
from crm.extensions import db
from crm.timeutil import local_today


@pytest.fixture
def three(cards):
    """A card for each of c1 (am1), c2 (am2, same region) and c3 (am3, other region)."""
    w = cards.world
    today = local_today()
    out = {
        c.name: services.issue_card(db.session, c, cards.normal, today=today)
        for c in (w.c1, w.c2, w.c3)
    }
    out[w.c3.name].expiry_date = today + timedelta(days=10)
    db.session.commit()
    return out


def listing(c, url="/admin/card/"):
    return c.get(url).get_data(as_text=True)


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("am1", {"c1"}),
        ("am2", {"c2"}),
        ("rm_east", {"c1", "c2"}),
        ("rm_north", {"c3"}),
        ("clerk", {"c1", "c2", "c3"}),
        ("service", {"c1", "c2", "c3"}),
        ("finance", {"c1", "c2", "c3"}),
        ("sales_manager", {"c1", "c2", "c3"}),
    ],
)
def test_card_list_is_scoped_like_customers(cards, three, login_as, who, sees):
    w = cards.world
    c = login_as(getattr(w, who))
    body = listing(c)
    for key in ("c1", "c2", "c3"):
        client = getattr(w, key)
        assert (three[client.name].number in body) == (key in sees), (who, key)
        status = c.get(f"/admin/card/details/?id={three[client.name].id}").status_code
        assert status == (200 if key in sees else 404), (who, key)


def test_archivist_and_admin_do_not_open_cards(cards, login_as):
    for user in (cards.world.archivist, cards.world.admin):
        assert login_as(user).get("/admin/card/").status_code == 403


def test_counts_and_expiring_list_follow_the_scope(cards, three, login_as):
    w = cards.world
    c = login_as(w.clerk)
    assert three[w.c3.name].number in listing(c, "/admin/card_expiring/")
    assert three[w.c1.name].number not in listing(c, "/admin/card_expiring/")
    am1 = login_as(w.am1)
    assert three[w.c3.name].number not in listing(am1, "/admin/card_expiring/")
    counts = listing(am1, "/admin/card_counts/")
    # am1 sees c1's 普通卡 and their own individual's 金卡, nothing of c2 or c3
    assert '<td>普通卡</td><td class="text-right" data-status="active">1</td>' in counts
    clerk_counts = listing(c, "/admin/card_counts/")
    assert '<td>普通卡</td><td class="text-right" data-status="active">3</td>' in clerk_counts
    assert 'data-status="expiring">1</td>' in clerk_counts


def test_moves_from_the_card_page(cards, login_as):
    c = login_as(cards.world.am1)
    card = cards.card
    page = c.get(f"/admin/card/details/?id={card.id}").get_data(as_text=True)
    assert 'id="move-report_lost"' in page and 'id="move-replace"' not in page
    r = c.post("/admin/card/move/", data={"id": card.id, "move": "report_lost", "reason": "丢失"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(MemberCard, card.id).status == "lost"
    r = c.post(
        "/admin/card/move/",
        data={"id": card.id, "move": "cancel", "reason": "x"},
        follow_redirects=True,
    )
    assert db.session.get(MemberCard, card.id).status == "lost"  # refused: lost → cancelled
    r = c.post("/admin/card/move/", data={"id": card.id, "move": "replace"})
    new = db.session.scalars(select(MemberCard).where(MemberCard.previous_id == card.id)).one()
    assert r.headers["Location"].endswith(f"id={new.id}")


def test_out_of_scope_moves_answer_404(cards, login_as):
    c = login_as(cards.world.am2)
    r = c.post("/admin/card/move/", data={"id": cards.card.id, "move": "report_lost"})
    assert r.status_code == 404
    db.session.expire_all()
    assert db.session.get(MemberCard, cards.card.id).status == "active"


def test_service_reads_a_card_but_has_no_moves(cards, login_as):
    c = login_as(cards.world.service)
    page = c.get(f"/admin/card/details/?id={cards.card.id}").get_data(as_text=True)
    assert cards.card.number in page and 'id="move-' not in page
    c.post("/admin/card/move/", data={"id": cards.card.id, "move": "report_lost"})
    db.session.expire_all()
    assert db.session.get(MemberCard, cards.card.id).status == "active"


def test_clerk_issues_a_card_and_records_uses(cards, login_as):
    w = cards.world
    c = login_as(w.clerk)
    r = c.post("/admin/card/new/", data={"client": w.c3.id, "card_type": cards.platinum.id})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    card = db.session.scalars(select(MemberCard).where(MemberCard.client_id == w.c3.id)).one()
    ok = c.post(
        "/admin/card_use/new/",
        data={"number": card.number, "holder": w.c3.name, "place": "前台", "list_price": "120.00"},
    )
    assert ok.status_code == 302
    refused = c.post(
        "/admin/card_use/new/",
        data={"number": card.number, "holder": "冒用者", "place": "前台", "list_price": "5"},
    )
    assert refused.status_code == 200  # the form stays, with the reason
    uses = db.session.scalars(select(CardUse).order_by(CardUse.id)).all()
    assert [u.accepted for u in uses] == [True, False]
    assert (uses[0].list_price, uses[0].benefit, uses[0].paid) == (
        Decimal("120.00"),
        Decimal("24.00"),
        Decimal("96.00"),
    )  # 白金卡: 0.80


def test_the_use_screen_and_the_cards_history_show_the_three_amounts_in_chinese(cards, login_as):
    c = login_as(cards.world.clerk)
    with force_locale("zh_Hans_CN"):
        r = c.post(
            "/admin/card_use/new/",
            data={
                "number": cards.card.number,
                "holder": cards.id_number,
                "place": "餐厅",
                "list_price": "388.45",
            },
            follow_redirects=True,
        )
        page = r.get_data(as_text=True)
        history = c.get(f"/admin/card/details/?id={cards.card.id}").get_data(as_text=True)
    assert "标价 388.45，优惠 38.84，实付 349.61" in page  # the message after recording
    assert "标价" in page and "优惠金额" in page and "实付金额" in page  # the uses list
    uses = history[history.index('id="card-uses"') :]
    for text in ("标价", "优惠金额", "实付金额", "388.45", "38.84", "349.61"):
        assert text in uses


def test_account_manager_cannot_record_a_use_of_another_customers_card(cards, three, login_as):
    w = cards.world
    c = login_as(w.am1)
    card = three[w.c2.name]
    c.post(
        "/admin/card_use/new/",
        data={"number": card.number, "holder": w.c2.name, "place": "前台", "list_price": "1"},
    )
    assert db.session.scalars(select(CardUse)).all() == []


def test_only_managers_edit_card_types(cards, login_as):
    assert (
        login_as(cards.world.clerk)
        .post(f"/admin/card_type/edit/?id={cards.gold.id}", data={"name": "x"})
        .status_code
        == 403
    )
    c = login_as(cards.world.sales_manager)
    r = c.post(
        f"/admin/card_type/edit/?id={cards.gold.id}",
        data={
            "code": "GOLD",
            "name": "金卡",
            "discount_rate": "0.85",
            "privileges": "贵宾休息室",
            "issue_fee": "500",
            "renewal_fee": "400",
            "replacement_fee": "50",
            "validity_months": "12",
            "active": "y",
        },
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert cards.gold.benefits_version == 2


def test_a_renewal_with_the_wrong_card_number_gives_one_error(cards, login_as):
    c = login_as(cards.world.clerk)
    r = c.post(
        "/admin/card/move/",
        data={
            "id": cards.card.id,
            "move": "renew",
            "id_number": cards.id_number,
            "old_number": "9999999999",
        },
    )
    assert r.status_code == 302
    with c.session_transaction() as s:
        said = s["_flashes"]
    assert said == [("error", "The old card must be presented: its number does not match.")]
