"""notify_select (the set-based notice writer) with an event's own address and with `unsent`:
what a daily sweep that meets the same events again uses (crm.cards' reminders)."""

from sqlalchemy import func, literal, select

from crm.clients.models import Client
from crm.extensions import db
from crm.notifications.models import NoticeRobot, Notification, OutboxMail, RobotItem
from crm.notifications.services import notify_select
from tests import factories


def _events(clients):
    return select(
        (literal("ev:") + Client.code).label("event_key"),
        literal("标题").label("title"),
        (literal("正文 ") + Client.name).label("body"),
        Client.id.label("client_id"),
        literal("client.details_view").label("link_endpoint"),
        Client.id.label("link_id"),
        Client.email.label("to_address"),
    ).where(Client.id.in_([c.id for c in clients]))


def _rows():
    inbox = db.session.execute(select(Notification.recipient_id, Notification.event_key)).all()
    mails = db.session.execute(select(OutboxMail.event_key, OutboxMail.to_address)).all()
    items = db.session.execute(select(RobotItem.robot_id, RobotItem.event_key)).all()
    return sorted(map(tuple, inbox)), sorted(map(tuple, mails)), sorted(map(tuple, items))


def test_an_events_own_address_is_mailed_once_and_unsent_writes_nothing_twice(world):
    world.am1.email = "am1@example.com"
    robot = NoticeRobot(name="群", platform="wecom", webhook_token="x", kinds=["k"], active=True)
    db.session.add(robot)
    db.session.commit()
    with_mail = factories.create_client(world.am1, email="holder@example.com")
    empty = factories.create_client(world.am1, email="")
    without = factories.create_client(None)
    events = _events([with_mail, empty, without])
    deliveries = events.add_columns(Client.owner_id.label("recipient_id")).where(
        Client.owner_id.is_not(None)
    )
    assert notify_select(db.session, "k", events, deliveries, unsent=True) == 2
    db.session.commit()
    first = _rows()
    keys = {c: f"ev:{c.code}" for c in (with_mail, empty, without)}
    assert first == (
        sorted([(world.am1.id, keys[with_mail]), (world.am1.id, keys[empty])]),
        sorted(
            [
                (keys[with_mail], "am1@example.com"),
                (keys[with_mail], "holder@example.com"),
                (keys[empty], "am1@example.com"),
            ]
        ),
        sorted((robot.id, k) for k in keys.values()),
    )
    for unsent in (True, False):
        assert notify_select(db.session, "k", events, deliveries, unsent=unsent) == 0
        db.session.commit()
        assert _rows() == first
    assert db.session.scalar(select(func.count()).select_from(OutboxMail)) == 3
