"""R12: a first contact is registered within the working days — reminder, then alert, once."""

from datetime import date

import pytest
from sqlalchemy import select

from crm.errors import NotAllowed
from crm.extensions import db
from crm.intake import services
from crm.intake.models import FirstContact
from crm.notifications.models import Notification
from crm.settings import Setting
from tests import factories
from tests.intake.support import acting

CONTACT = date(2026, 11, 25)  # a Wednesday: due Wednesday 2 December, reminded on the 1st


def inbox(user) -> list[str]:
    return list(
        db.session.scalars(
            select(Notification.kind)
            .where(Notification.recipient_id == user.id)
            .order_by(Notification.id)
        )
    )


@pytest.fixture
def contact(world):
    with acting(world.am1):
        row = services.record_first_contact(
            db.session,
            FirstContact(
                name="华东新客户有限公司",
                phone="021-12345678",
                contact_date=CONTACT,
                owner_id=world.am2.id,
            ),
        )
    db.session.commit()
    return row


def test_an_account_manager_s_first_contact_is_their_own(world, contact):
    assert contact.owner_id == world.am1.id and contact.region_id == world.east.id


def test_reminder_the_working_day_before_then_the_regional_manager_when_late(world, contact):
    for day in (date(2026, 11, 26), date(2026, 11, 30)):
        services.check_registrations(db.session, day)
    assert inbox(world.am1) == [] and inbox(world.rm_east) == []

    result = services.check_registrations(db.session, date(2026, 12, 1))
    assert result["reminded"] == 1 and inbox(world.am1) == ["registration_due"]
    services.check_registrations(db.session, date(2026, 12, 2))  # the deadline: not yet late
    assert inbox(world.am1) == ["registration_due"] and inbox(world.rm_east) == []

    for day in (date(2026, 12, 3), date(2026, 12, 4)):  # late, twice: one alert
        services.check_registrations(db.session, day)
    assert inbox(world.rm_east) == ["registration_late"]
    assert inbox(world.rm_north) == [] and inbox(world.am1) == ["registration_due"]


def test_holidays_move_the_deadline(world, contact):
    db.session.add(Setting(key="holidays", value=["2026-12-02"]))
    db.session.commit()
    services.check_registrations(db.session, date(2026, 12, 3))
    assert inbox(world.rm_east) == []  # due on the 3rd now
    services.check_registrations(db.session, date(2026, 12, 4))
    assert inbox(world.rm_east) == ["registration_late"]


def test_a_registered_customer_closes_the_contact_and_nobody_is_alerted(world, contact):
    client = factories.create_client(world.am1, name="华东新客户股份有限公司", phone="021-87654321")
    result = services.check_registrations(db.session, date(2026, 12, 10))
    assert result["linked"] == 1 and inbox(world.rm_east) == []
    db.session.refresh(contact)
    assert contact.client_id == client.id and contact.registered_on is not None


def test_registration_after_the_deadline_is_marked_late(world, contact):
    client = factories.create_client(world.am1)
    services.link_registration(db.session, contact, client, date(2026, 12, 3))
    assert contact.registered_late
    services.link_registration(db.session, contact, client, date(2026, 12, 2))
    assert not contact.registered_late


def test_roles_outside_intake_cannot_record_first_contacts(world):
    with acting(world.finance), pytest.raises(NotAllowed):
        services.record_first_contact(db.session, FirstContact(name="x", contact_date=CONTACT))


def test_first_contacts_are_scoped_to_owner_and_region(world, contact, login_as):
    for user in (world.am1, world.rm_east, world.sales_manager):
        assert "华东新客户".encode() in login_as(user).get("/admin/first_contact/").data
    for user in (world.am2, world.rm_north):
        assert "华东新客户".encode() not in login_as(user).get("/admin/first_contact/").data
