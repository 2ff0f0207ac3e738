from datetime import timedelta

from sqlalchemy import func, select

from crm.cards import services
from crm.cards.models import CardEvent, MemberCard
from crm.extensions import db
from crm.notifications.models import Notification, OutboxMail
from crm.settings import Setting
from crm.tasks.cards import daily
from tests import factories
from tests.cards.conftest import TODAY


def card_expiring(cards, owner, days, **client):
    holder = factories.create_client(owner, **client)
    card = services.issue_card(db.session, holder, cards.normal, today=TODAY - timedelta(days=1))
    card.expiry_date = TODAY + timedelta(days=days)
    db.session.commit()
    return card


def keys():
    return sorted(db.session.scalars(select(Notification.event_key)))


def key(card, days):
    return f"card:{card.id}:expiry:{card.expiry_date}:{days}"


def snapshot():
    mails = select(OutboxMail.event_key + OutboxMail.to_address)
    return (
        keys(),
        sorted(db.session.scalars(mails)),
        db.session.scalar(select(func.count()).select_from(CardEvent)),
        sorted(db.session.execute(select(MemberCard.id, MemberCard.status))),
    )


def test_daily_task_reminds_once_and_expires_by_date_idempotently(cards):
    w = cards.world
    w.am1.email = "am1@example.com"
    db.session.commit()
    cards.card.expiry_date = TODAY + timedelta(days=200)  # far off: nothing happens to it
    c30 = card_expiring(cards, w.am1, 30, email="holder30@example.com")
    c20 = card_expiring(cards, w.am2, 20)  # issued inside the 30-day window: that reminder
    c7 = card_expiring(cards, w.am3, 7)
    c0 = card_expiring(cards, w.am1, 0)  # its last valid day: reminded, not expired
    gone = card_expiring(cards, w.am1, -1)  # yesterday was its last day
    far = card_expiring(cards, w.am1, 31)
    lost = card_expiring(cards, w.am1, 5)
    services.report_lost(db.session, lost)
    db.session.commit()

    assert daily(TODAY.isoformat()) == {"reminded": 4, "expired": 1}
    db.session.expire_all()
    assert keys() == sorted([key(c30, 30), key(c20, 30), key(c7, 7), key(c0, 7)])
    mails = set(
        db.session.scalars(
            select(OutboxMail.to_address).where(OutboxMail.event_key == key(c30, 30))
        )
    )
    assert mails == {"am1@example.com", "holder30@example.com"}
    statuses = dict(db.session.execute(select(MemberCard.id, MemberCard.status)).all())
    assert statuses[gone.id] == "expired" and statuses[c0.id] == "active"
    assert statuses[far.id] == "active" and statuses[lost.id] == "lost"
    [expiry] = db.session.scalars(select(CardEvent).where(CardEvent.kind == "expire")).all()
    assert (expiry.card_id, expiry.from_status, expiry.to_status) == (gone.id, "active", "expired")

    before = snapshot()
    assert daily(TODAY.isoformat()) == {"reminded": 0, "expired": 0}
    db.session.expire_all()
    assert snapshot() == before

    # 23 days on, the 30-day card is 7 days out: its second reminder, and only that.
    later = TODAY + timedelta(days=23)
    daily(later.isoformat())
    db.session.expire_all()
    new = set(keys()) - set(before[0])
    assert key(c30, 7) in new and key(far, 30) in new
    assert key(c30, 30) not in new
    assert db.session.get(MemberCard, c7.id).status == "expired"


def test_reminder_days_come_from_the_settings(cards):
    db.session.add(Setting(key="card_reminder_days", value=[10]))
    c30 = card_expiring(cards, cards.world.am1, 30)
    c9 = card_expiring(cards, cards.world.am1, 9)
    services.run_daily(db.session, TODAY)
    db.session.commit()
    assert keys() == [key(c9, 10)]
    assert c30.id


def test_a_card_renewed_before_expiry_is_reminded_again_before_its_new_expiry(cards):
    card = card_expiring(cards, cards.world.am1, 7)
    services.run_daily(db.session, TODAY)
    first = key(card, 7)
    services.extend_card(db.session, card, today=TODAY)
    db.session.commit()
    services.run_daily(db.session, TODAY)  # nothing due for the new expiry yet
    db.session.commit()
    assert keys() == [first]
    services.run_daily(db.session, card.expiry_date - timedelta(days=7))
    db.session.commit()
    assert keys() == sorted([first, key(card, 7)])


def test_card_reminders_follow_the_managers_choice_and_reach_the_groups_that_take_them(cards):
    from crm.notifications.models import NoticePreference, NoticeRobot, RobotItem

    w = cards.world
    w.am1.email, w.am2.email = "am1@example.com", "am2@example.com"
    db.session.add_all(
        [
            NoticePreference(user_id=w.am1.id, kind="card_expiry", mode="digest"),
            NoticeRobot(
                name="卡务群",
                platform="wecom",
                webhook_token="x",
                kinds=["card_expiry"],
                active=True,
            ),
        ]
    )
    db.session.commit()
    c1 = card_expiring(cards, w.am1, 7, email="holder1@example.com")
    c2 = card_expiring(cards, w.am2, 7)
    for _ in range(2):
        services.run_daily(db.session, TODAY)
        db.session.commit()
    assert keys() == sorted([key(c1, 7), key(c2, 7)])  # both managers' inboxes
    mails = sorted(
        db.session.execute(
            select(
                OutboxMail.to_address, OutboxMail.kind, OutboxMail.link_endpoint, OutboxMail.link_id
            )
        ).all()
    )
    assert mails == [
        ("am2@example.com", "card_expiry", "card.details_view", c2.id),
        ("holder1@example.com", "card_expiry", "card.details_view", c1.id),
    ]
    assert sorted(db.session.scalars(select(RobotItem.event_key))) == sorted(
        [key(c1, 7), key(c2, 7)]
    )


def test_a_reminder_reads_as_the_per_card_notice_and_a_holder_without_a_manager_is_mailed(cards):
    from flask_babel import gettext as _

    w = cards.world
    card = card_expiring(cards, w.am1, 30)
    alone = card_expiring(cards, None, 7, email="alone@example.com", name="无人客户有限公司")
    services.run_daily(db.session, TODAY)
    db.session.commit()
    row = db.session.scalars(select(Notification)).one()  # the holder without one has none
    assert (row.recipient_id, row.event_key, row.kind) == (w.am1.id, key(card, 30), "card_expiry")
    assert row.title == _("Member card expires within %(days)d days", days=30)
    assert row.body == (
        f"{_('Please arrange the renewal.')} {_('Card')} {card.number}, {card.client.name}, "
        f"{_('expiry date')} {card.expiry_date}"
    )
    assert (row.client_id, row.link_endpoint, row.link_id) == (
        card.client_id,
        "card.details_view",
        card.id,
    )
    [mail] = db.session.execute(select(OutboxMail.event_key, OutboxMail.to_address)).all()
    assert tuple(mail) == (key(alone, 7), "alone@example.com")
    services.run_daily(db.session, TODAY)  # the card without an inbox row comes back: no mail
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(OutboxMail)) == 1


def test_a_reminder_is_raised_once_a_manager_taking_the_customer_over_is_not_told_again(cards):
    w = cards.world
    card = card_expiring(cards, w.am1, 20)
    services.run_daily(db.session, TODAY)
    db.session.commit()
    card.client.owner_id = w.am2.id
    db.session.commit()
    services.run_daily(db.session, TODAY + timedelta(days=1))
    db.session.commit()
    got = db.session.execute(select(Notification.recipient_id, Notification.event_key)).all()
    assert [tuple(r) for r in got] == [(w.am1.id, key(card, 30))]
    services.run_daily(db.session, card.expiry_date - timedelta(days=7))  # the next reminder
    db.session.commit()
    assert db.session.scalars(
        select(Notification.recipient_id).where(Notification.event_key == key(card, 7))
    ).all() == [w.am2.id]


def test_the_daily_task_takes_the_same_statements_for_one_card_or_many(cards):
    from sqlalchemy import event

    def statements(day):
        seen = []

        def add(*_args):
            seen.append(1)

        event.listen(db.engine, "before_cursor_execute", add)
        try:
            services.run_daily(db.session, day)
        finally:
            event.remove(db.engine, "before_cursor_execute", add)
        db.session.commit()
        return len(seen)

    card_expiring(cards, cards.world.am1, 6)
    card_expiring(cards, cards.world.am1, -2)
    few = statements(TODAY)
    for days in (5, 6, 20, 25, 29):
        card_expiring(cards, cards.world.am2, days, email=f"h{days}@example.com")
    for _n in range(3):
        card_expiring(cards, cards.world.am3, -1)
    assert statements(TODAY) == few
