"""Demo data for intake and revisits: overdue registrations, a queue to assign, invitations,
and revisits and greetings due today — with the day's inbox already filled."""

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from crm.auth.models import Region, User
from crm.clients.models import Client, KeyPerson
from crm.intake import services
from crm.intake.models import FirstContact
from crm.revisits import services as revisits
from crm.revisits.rules import add_months
from crm.timeutil import company_zone, local_today

CONTACTS = [
    ("am_east1", "上海恒远物流有限公司", "021-52340001", 12),
    ("am_east2", "杭州瑞丰电子有限公司", "0571-86230002", 9),
    ("am_north1", "北京嘉和文化传媒有限公司", "010-65230003", 15),
    ("am_north2", "天津宏达建设工程有限公司", "022-23450004", 2),
]


def seed_intake(session, rng) -> None:
    today = local_today()
    users = {u.username: u for u in session.scalars(select(User))}
    for username, name, phone, days_ago in CONTACTS:  # three overdue, one nearly due
        owner = users[username]
        session.add(
            FirstContact(
                name=name,
                phone=phone,
                owner_id=owner.id,
                region_id=owner.region_id,
                contact_date=today - timedelta(days=days_ago),
            )
        )
    # Two northern customers without an owner join the eastern ones in the queues.
    north = session.scalars(select(Region).where(Region.code == "NORTH")).one()
    for client in session.scalars(
        select(Client)
        .where(Client.owner_id.isnot(None), Client.region_id == north.id)
        .order_by(Client.id)
        .limit(2)
    ):
        client.owner_id = None
    # Revisits due today: deliveries one, two and fifteen months ago.
    owned = session.scalars(
        select(Client)
        .where(Client.owner_id.isnot(None), Client.stage != "former")
        .order_by(Client.id)
        .limit(12)
    ).all()
    for i, client in enumerate(owned):
        client.first_deal_date = add_months(today, -(1, 2, 15)[i % 3])
    # Greetings today: a key person's birthday.
    person = session.scalars(select(KeyPerson).order_by(KeyPerson.id)).first()
    if person is not None:
        person.birth_date = (
            today.replace(year=1978)
            if (today.month, today.day) != (2, 29)
            else today.replace(year=1976)
        )
    session.flush()
    if len(owned) >= 3:  # a tiny demo (a test's) may have too few
        _invitations(session, owned[:3], users["clerk"])
    services.check_registrations(session, today)
    revisits.run_daily(session, today)


def _invitations(session, clients, clerk) -> None:
    """One customer confirmed by division one; another claimed late by one and confirmed on
    time by two (two counts); a third still pending."""
    today = local_today()
    first, contested, pending = clients

    def claim(client, division, day_offset=None, hour=None):
        at = None
        if day_offset is not None:
            at = (
                datetime.combine(
                    today + timedelta(days=day_offset), time(hour), tzinfo=company_zone()
                )
                .astimezone(UTC)
                .replace(tzinfo=None)
            )
        row = services.claim_invitation(session, client, division, at=at)
        row.claimed_by_id = clerk.id
        if at is not None:
            services.confirm_invitation(session, row, at)

    claim(first, "one", -2, 10)
    claim(contested, "one", -1, 19)  # after the cut-off: counts for today, late
    claim(contested, "two", 0, 9)  # today, on time: division two counts
    claim(pending, "two")
