"""R12: an important (K or A) customer has at least two staff in contact; the weekly check
tells the regional manager once per customer per week; the card shows the staff."""

from datetime import date

import pytest
from sqlalchemy import select

from crm.audit import AuditEvent
from crm.clients import services
from crm.clients.models import Client, ClientStaff
from crm.errors import DomainError, NotAllowed
from crm.extensions import db
from crm.notifications.models import Notification
from crm.tasks.intake import weekly_staff_check
from tests import factories
from tests.intake.support import acting

MONDAY = date(2026, 11, 30)


def notices(user) -> list[Notification]:
    return db.session.scalars(
        select(Notification)
        .where(Notification.recipient_id == user.id, Notification.kind == "staff_shortfall")
        .order_by(Notification.id)
    ).all()


def add_staff(actor, client, user):
    with acting(actor):
        row = services.add_contact_staff(
            db.session, ClientStaff(client_id=client.id, user_id=user.id)
        )
    db.session.commit()
    return row


def test_a_k_customer_with_one_staff_is_listed_once_a_week(world):
    k = factories.create_client(world.am1, name="华东重点客户有限公司", level="K")
    weekly_staff_check(MONDAY.isoformat())
    weekly_staff_check(date(2026, 12, 3).isoformat())  # the same week: no second notice
    [note] = notices(world.rm_east)
    assert note.client_id == k.id and k.name in note.title
    assert notices(world.rm_north) == []
    weekly_staff_check(date(2026, 12, 7).isoformat())  # the next week: again
    assert len(notices(world.rm_east)) == 2


def test_with_two_staff_none_and_b_customers_are_not_checked(world):
    a = factories.create_client(world.am1, name="华东甲级客户有限公司", level="A")
    add_staff(world.am1, a, world.am2)
    result = weekly_staff_check(MONDAY.isoformat())
    assert result == {"listed": 0} and notices(world.rm_east) == []  # c1, c2 are level B


def test_a_departed_staff_member_does_not_count(world):
    a = factories.create_client(world.am1, name="华东甲级客户有限公司", level="A")
    add_staff(world.am1, a, world.am2)
    world.am2.active = False
    db.session.commit()
    assert weekly_staff_check(MONDAY.isoformat()) == {"listed": 1}


def test_the_owner_names_staff_audited_and_out_of_scope_users_may_not(world):
    row = add_staff(world.am1, world.c1, world.service)
    assert db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.entity == "client_staff", AuditEvent.client_id == world.c1.id
        )
    ).all()
    with pytest.raises(DomainError):
        add_staff(world.am1, world.c1, world.service)  # already listed
    with pytest.raises(DomainError):
        add_staff(world.am1, world.c1, world.am1)  # the owner is in contact already
    db.session.rollback()
    with pytest.raises(NotAllowed):
        add_staff(world.am2, world.c1, world.am3)  # not am2's customer
    db.session.rollback()
    with acting(world.am1):
        services.remove_contact_staff(db.session, row, "调岗")
    db.session.commit()
    assert db.session.scalars(select(ClientStaff)).all() == []


def test_contact_staff_gain_no_read_access(world, login_as):
    """R5: only the responsible manager reads a customer; being named contact staff opens
    nothing by itself (a view grant does)."""
    add_staff(world.am1, world.c1, world.am2)
    r = login_as(world.am2).get(f"/admin/client/details/?id={world.c1.id}")
    assert r.status_code == 404


def test_the_card_shows_the_staff_and_warns_when_fewer_than_two(world, login_as):
    db.session.get(Client, world.c1.id).level = "K"
    db.session.commit()
    am = login_as(world.am1)
    page = am.get(f"/admin/client/details/?id={world.c1.id}").get_data(as_text=True)
    assert 'id="contact-staff"' in page and 'id="staff-warning"' in page
    r = am.post(
        "/admin/clientstaff/new/",
        data={"client": world.c1.id, "user": world.am2.id, "role": "backup"},
    )
    assert r.status_code == 302
    page = am.get(f"/admin/client/details/?id={world.c1.id}").get_data(as_text=True)
    staff = page.split('id="contact-staff"')[1].split("</ul>")[0]
    assert "am1" in staff and "am2" in staff and 'id="staff-warning"' not in page
