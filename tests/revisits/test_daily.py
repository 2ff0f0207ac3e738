"""R14's beat task: each day's due revisits and greetings reach the inbox once each."""

from datetime import date

from sqlalchemy import select

from crm.clients.models import Client
from crm.extensions import db
from crm.notifications.models import Notification
from crm.revisits import services
from crm.revisits.models import Revisit
from crm.settings import Setting
from crm.tasks.revisits import daily
from tests import factories

TODAY = date(2026, 11, 25)


def inbox(user) -> list[str]:
    return sorted(
        db.session.scalars(
            select(Notification.event_key).where(Notification.recipient_id == user.id)
        )
    )


def deliver(client, day):
    client.first_deal_date = day
    db.session.commit()


def test_a_revisit_due_today_reaches_the_owner_once(world):
    deliver(world.c1, date(2026, 10, 25))  # one month ago: the first monthly revisit is today
    deliver(world.c2, date(2026, 10, 26))  # due tomorrow
    first = services.run_daily(db.session, TODAY)
    again = services.run_daily(db.session, TODAY)
    db.session.commit()
    revisit = db.session.scalars(
        select(Revisit).where(Revisit.client_id == world.c1.id, Revisit.due_date == TODAY)
    ).one()
    assert inbox(world.am1) == [f"revisit:{revisit.id}"]
    assert inbox(world.am2) == []
    assert first["revisits"] == 1 and again == {"planned": 0, "revisits": 0, "greetings": 0}
    # Planned a month ahead, each day once.
    assert db.session.scalars(
        select(Revisit.due_date).where(Revisit.client_id == world.c2.id).order_by(Revisit.due_date)
    ).all() == [date(2026, 11, 26), date(2026, 12, 26)]


def test_quarterly_after_the_first_year(world):
    deliver(world.c1, date(2025, 8, 25))  # 15 months ago: quarterly since, due today
    deliver(world.c2, date(2025, 9, 25))  # 14 months ago: not due (months 12, 15, …)
    services.run_daily(db.session, TODAY)
    assert len(inbox(world.am1)) == 1 and inbox(world.am2) == []


def test_the_cadence_is_a_setting(world):
    db.session.add(
        Setting(key="revisit_cadence", value={"first_year_months": 2, "later_months": 3})
    )
    deliver(world.c1, date(2026, 10, 25))  # month 1: not due at a two-monthly cadence
    services.run_daily(db.session, TODAY)
    assert inbox(world.am1) == []


def test_a_former_customer_is_not_revisited(world):
    world.c1.stage = "former"
    deliver(world.c1, date(2026, 10, 25))
    services.run_daily(db.session, TODAY)
    assert inbox(world.am1) == []


def test_greetings_birthdays_and_anniversaries_once_a_year(world):
    person = factories.create_client(
        world.am2,
        kind="individual",
        name="王五",
        phone="13955556666",
        id_number=factories.valid_id_number(date(1980, 11, 25)),
    )
    factories.create_key_person(world.c1, name="甲法人代表", birth_date=date(1975, 11, 25))
    world.c3.first_deal_date = date(2020, 11, 25)
    db.session.commit()
    daily.run(TODAY.isoformat())
    daily.run(TODAY.isoformat())
    assert inbox(world.am2) == [f"greeting:birthday:client:{person.id}:2026"]
    assert len(inbox(world.am1)) == 1 and inbox(world.am1)[0].startswith("greeting:birthday:person")
    assert [k for k in inbox(world.am3) if k.startswith("greeting")] == [
        f"greeting:anniversary:{world.c3.id}:2026"
    ]
    services.send_greetings(db.session, date(2026, 11, 26))
    assert len(inbox(world.am2)) == 1


def test_an_unowned_customer_s_revisit_goes_to_its_regional_manager(world):
    client = factories.create_client(
        None, world.north, name="无主客户有限公司", phone="010-99998888"
    )
    deliver(client, date(2026, 10, 25))
    services.run_daily(db.session, TODAY)
    assert len(inbox(world.rm_north)) == 1 and inbox(world.rm_east) == []
    assert db.session.get(Client, client.id).owner_id is None
