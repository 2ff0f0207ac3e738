from pathlib import Path

from sqlalchemy import func, select

from crm.extensions import db
from crm.notifications.models import Notification, OutboxMail
from crm.notifications.services import notify, send_outbox, unread_count


def test_an_event_notifies_each_recipient_once(world):
    world.rm_east.email = "rm@example.com"
    for _ in range(3):  # the same event raised again (a re-run, a retry) adds nothing
        notify(
            db.session,
            [world.rm_east, world.sales_manager],
            "credit:80:c1:1",
            "credit_80",
            "额度使用超过80%",
            addresses=["commerce@example.com"],
        )
        db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 2
    mails = db.session.scalars(select(OutboxMail.to_address).order_by(OutboxMail.to_address))
    assert list(mails) == ["commerce@example.com", "rm@example.com"]
    assert unread_count(db.session, world.rm_east) == 1


def test_outbox_sends_each_mail_once(world, app):
    notify(db.session, [], "evt:1", "test", "主题", "正文", addresses=["a@example.com"])
    db.session.commit()
    assert send_outbox(db.session) == 1
    assert send_outbox(db.session) == 0  # a second run finds nothing pending
    files = list(Path(app.config["MAIL_DIR"]).glob("*.eml"))
    assert any("a@example.com" in f.read_text() for f in files)
    mail = db.session.scalars(select(OutboxMail)).one()
    assert mail.status == "sent" and mail.attempts == 1


def test_inbox_shows_only_own_notifications(world, login_as):
    notify(db.session, [world.am1], "e:am1", "t", "给客户经理一的通知")
    notify(db.session, [world.am2], "e:am2", "t", "给客户经理二的通知")
    db.session.commit()
    c = login_as(world.am1)
    body = c.get("/admin/inbox/").get_data(as_text=True)
    assert "给客户经理一的通知" in body and "给客户经理二的通知" not in body
    other = db.session.scalars(
        select(Notification).where(Notification.recipient_id == world.am2.id)
    ).one()
    assert c.get(f"/admin/inbox/details/?id={other.id}").status_code == 404
    assert 'id="bell-count">1<' in c.get("/admin/client/").get_data(as_text=True)


def test_home_lists_only_my_unread_notifications(world, login_as):
    notify(db.session, [world.am1], "home:am1", "t", "客户经理一的未读通知")
    notify(db.session, [world.am2], "home:am2", "t", "客户经理二的未读通知")
    db.session.commit()
    body = login_as(world.am1).get("/admin/").get_data(as_text=True)
    assert "客户经理一的未读通知" in body and "客户经理二的未读通知" not in body


def test_bell_counts_to_99_then_says_99_plus(world, login_as):
    for k in range(99):
        notify(db.session, [world.am1], f"bell:{k}", "t", "未读")
    notify(db.session, [world.am2], "bell:other", "t", "别人的")
    db.session.commit()
    c = login_as(world.am1)
    assert 'id="bell-count">99<' in c.get("/admin/client/").get_data(as_text=True)
    notify(db.session, [world.am1], "bell:99", "t", "第一百条")
    db.session.commit()
    assert 'id="bell-count">99+<' in c.get("/admin/client/").get_data(as_text=True)
