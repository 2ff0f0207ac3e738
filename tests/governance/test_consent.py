"""R17 consent and sensitive data: marketing lists and exports hold only customers who consented
to marketing; a withdrawn consent takes the customer out; a key person's private notes are
shown only to those who deal with them, each full view recorded. And the audit screens: the
managers search the trail by user, customer, action and date; nothing in the app changes it.
"""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from crm.audit import AuditEvent
from crm.extensions import db
from crm.governance.models import Consent
from crm.timeutil import utcnow
from tests import factories
from tests.clients.scope import count_badge


def consent(client, purpose="marketing", withdrawn=False) -> Consent:
    row = Consent(
        client_id=client.id,
        purpose=purpose,
        given_how="written",
        withdrawn_at=utcnow() if withdrawn else None,
    )
    db.session.add(row)
    db.session.commit()
    return row


def events(action) -> list[AuditEvent]:
    db.session.expire_all()
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    ).all()


def test_marketing_list_and_export_hold_only_customers_who_consented(world, login_as):
    consent(world.c1)
    consent(world.c2, purpose="greetings")  # another use does not count
    c4 = factories.create_client(world.am1, name="已撤回同意公司")
    consent(c4, withdrawn=True)
    sm = login_as(world.sales_manager)
    listing = sm.get("/admin/marketing/").get_data(as_text=True)
    export = sm.get("/admin/marketing/export/csv/")
    assert export.status_code == 200
    for body in (listing, export.get_data(as_text=True)):
        assert world.c1.name in body
        assert world.c2.name not in body and world.c3.name not in body and c4.name not in body
    # The list keeps the scope: an account manager sees only their consenting customers.
    consent(world.c3)
    am3 = login_as(world.am3).get("/admin/marketing/export/csv/").get_data(as_text=True)
    assert world.c3.name in am3 and world.c1.name not in am3


def test_a_withdrawal_takes_the_customer_off_the_marketing_list(world, login_as):
    row = consent(world.c1)
    am = login_as(world.am1)
    assert world.c1.name in am.get("/admin/marketing/").get_data(as_text=True)
    r = am.post("/admin/consent/withdraw/", data={"id": row.id, "reason": "电话撤回"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Consent, row.id).withdrawn_at is not None
    assert world.c1.name not in am.get("/admin/marketing/").get_data(as_text=True)
    [event] = [e for e in events("update") if e.entity == "consents"]
    assert event.reason == "电话撤回" and event.client_id == world.c1.id


def test_consent_is_recorded_in_scope_only(world, login_as):
    r = login_as(world.am1).post(
        "/admin/consent/new/",
        data={
            "client": world.c1.id,
            "purpose": "marketing",
            "given_how": "written",
            "notes": "合同附件",
        },
    )
    assert r.status_code == 302
    login_as(world.am3).post(
        "/admin/consent/new/",
        data={"client": world.c1.id, "purpose": "marketing", "given_how": "written"},
    )
    rows = db.session.scalars(select(Consent)).all()
    assert [(c.client_id, c.recorded_by_id) for c in rows] == [(world.c1.id, world.am1.id)]
    assert (
        login_as(world.am3).post("/admin/consent/withdraw/", data={"id": rows[0].id}).status_code
        == 404
    )
    card = login_as(world.am1).get(f"/admin/client/details/?id={world.c1.id}")
    assert 'id="consents"' in card.get_data(as_text=True)


def test_consents_are_never_edited_or_deleted(world, login_as):
    row = consent(world.c1)
    sm = login_as(world.sales_manager)
    sm.post(f"/admin/consent/edit/?id={row.id}", data={"purpose": "disclosure"})
    sm.post("/admin/consent/delete/", data={"id": row.id, "reason": "x"})
    sm.post("/admin/consent/action/", data={"action": "delete", "rowid": [row.id], "reason": "x"})
    db.session.expire_all()
    assert db.session.get(Consent, row.id).purpose == "marketing"


def test_key_persons_private_notes_only_for_those_who_deal_with_them(world, login_as):
    kp = factories.create_key_person(
        world.c1,
        name="敏感联系人",
        religion="基督教",
        family_notes="女儿在读大学",
        character="谨慎",
    )
    url = f"/admin/keyperson/details/?id={kp.id}"
    for user in (world.am1, world.sales_manager):
        page = login_as(user).get(url).get_data(as_text=True)
        assert "基督教" in page and "女儿在读大学" in page
    viewed = events("view_sensitive")
    assert [e.actor_id for e in viewed] == [world.am1.id, world.sales_manager.id]
    assert set(viewed[0].changes["fields"]) >= {"religion", "family_notes", "character"}
    page = login_as(world.rm_east).get(url).get_data(as_text=True)
    assert "敏感联系人" in page and "基督教" not in page and "女儿在读大学" not in page
    assert len(events("view_sensitive")) == 2


# --- the audit screens ------------------------------------------------------------------------


def test_the_trail_is_searched_by_user_customer_action_and_date(world, login_as):
    sm = login_as(world.sales_manager)
    login_as(world.am1).post(
        f"/admin/client/edit/?id={world.c1.id}",
        data={
            "name": world.c1.name,
            "kind": "organisation",
            "level": "B",
            "stage": "prospect",
            "nature": "ordinary",
            "weight": "general",
            "change_reason": "查找用",
        },
    )
    login_as(world.rm_east).post("/admin/keyperson/delete/", data={"id": 1, "reason": "x"})
    today = date.today()
    by_user = sm.get("/admin/audit/", query_string={"search": "am1"}).get_data(as_text=True)
    assert "am1" in by_user
    idx = {"action": 0, "client": 1, "who": 2, "date": 3}

    def count(**where):
        stmt = select(func.count()).select_from(AuditEvent)
        for key, value in where.items():
            stmt = stmt.where(getattr(AuditEvent, key) == value)
        return db.session.scalar(stmt)

    def shown(flt, value):
        r = sm.get("/admin/audit/", query_string={f"flt0_{idx[flt]}": value, "page_size": 100})
        assert r.status_code == 200
        return count_badge(r.get_data(as_text=True))

    assert shown("client", world.c3.id) == count(client_id=world.c3.id) > 0
    assert shown("who", world.am1.id) == count(actor_id=world.am1.id) > 0
    assert shown("action", "login") == count(action="login") > 0
    week = f"{today - timedelta(days=1)} to {today + timedelta(days=1)}"
    assert shown("date", week) == count()
    assert shown("date", "2020-01-01 to 2020-01-02") == 0
    for user in (world.am1, world.rm_east, world.admin, world.clerk):
        assert login_as(user).get("/admin/audit/").status_code == 403


@pytest.mark.parametrize("user", ["sales_manager", "general_manager", "am1", "admin"])
def test_the_trail_cannot_be_changed_through_the_app(world, login_as, user):
    c = login_as(getattr(world, user))
    first = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).first()
    count = db.session.scalar(select(func.count()).select_from(AuditEvent))
    c.post("/admin/audit/new/", data={"action": "forged", "actor_label": "x", "entity": "x"})
    c.post(f"/admin/audit/edit/?id={first.id}", data={"action": "forged", "reason": "forged"})
    c.post("/admin/audit/delete/", data={"id": first.id, "reason": "x"})
    c.post("/admin/audit/action/", data={"action": "delete", "rowid": [first.id], "reason": "x"})
    db.session.expire_all()
    again = db.session.get(AuditEvent, first.id)
    assert again is not None and again.action == first.action and again.reason != "forged"
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "forged")
        )
        == 0
    )
    # Only sign-ins were added by these requests.
    added = db.session.scalars(select(AuditEvent.action).where(AuditEvent.id > count)).all()
    assert set(added) <= {"login"}


def test_the_orm_refuses_to_change_or_delete_an_event(world):
    event = db.session.scalars(select(AuditEvent)).first()
    event.reason = "forged"
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.scalars(select(AuditEvent)).first())
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()
