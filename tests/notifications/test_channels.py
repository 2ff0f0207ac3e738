"""A credit crossing reaches the inbox, a mail through an authenticated STARTTLS server and a
WeCom robot — once each; DingTalk's signature; failures retried with backoff, then shown to the
administrator; a burst of crossings batched into a handful of robot messages."""

import base64
import hashlib
import hmac
import re
from datetime import date, timedelta
from email import message_from_bytes, policy

from sqlalchemy import func, select, update

from crm.credit import checks, ledger
from crm.extensions import db
from crm.notifications import delivery
from crm.notifications.models import Notification, OutboxMail, RobotItem, RobotMessage
from crm.notifications.services import Target, notify, send_outbox
from crm.timeutil import utcnow
from tests.credit.conftest import give_profile
from tests.factories import valid_credit_code
from tests.notifications.conftest import BASE_URL, SMTP_USER, add_robot


def cross_80(world, client=None):
    client = client or world.c1
    give_profile(client, "10000.00")
    ledger.record_charge(db.session, client.id, "8500", date(2026, 11, 2), "B-1")
    db.session.commit()
    return f"credit:80:client:{client.id}:crossing:1"


def rows(model, **where):
    stmt = select(model)
    for key, value in where.items():
        stmt = stmt.where(getattr(model, key) == value)
    return db.session.scalars(stmt.order_by(model.id)).all()


def make_due(model):
    """Time passes: every waiting retry is due now."""
    db.session.execute(
        update(model)
        .where(model.status == "pending")
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()


def test_a_crossing_reaches_inbox_mail_and_wecom_once_each(world, smtp_server, webhooks):
    world.rm_east.email = "rm_east@example.com"
    db.session.commit()
    _robot, path = add_robot(webhooks, ["credit_80"])
    key = cross_80(world)
    assert [n.event_key for n in rows(Notification, recipient_id=world.rm_east.id)] == [key]
    for _ in range(3):  # the sweep runs again and again: nothing goes twice
        send_outbox(db.session)
        checks.check_now(db.session)
    recipients = sorted(r for _f, rcpt, *_ in smtp_server.messages for r in rcpt)
    assert recipients == ["commerce@example.com", "rm_east@example.com"]
    mail_from, _rcpt, raw, authenticated_as, over_tls = next(
        m for m in smtp_server.messages if m[1] == ["rm_east@example.com"]
    )
    assert authenticated_as == SMTP_USER and over_tls
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["From"] == "客户档案系统 <notices@crm.example.test>"
    assert "华东甲贸易有限公司" in msg["Subject"]
    profile_link = f"{BASE_URL}/admin/credit_profile/details/?id="
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert profile_link in text and "打开记录" in text  # Chinese, with the absolute link
    assert f'<a href="{profile_link}' in html and "华东甲贸易有限公司" in html
    assert [m.status for m in rows(OutboxMail)] == ["sent", "sent"]
    bodies = webhooks.bodies(path)
    assert len(bodies) == 1
    assert bodies[0]["msgtype"] == "markdown"
    content = bodies[0]["markdown"]["content"]
    assert "华东甲贸易有限公司" in content and f"]({profile_link}" in content


def test_the_mail_server_refuses_without_starttls_and_login(world, smtp_server, app, monkeypatch):
    notify(db.session, [], "evt:tls", "t", "主题", "正文", addresses=["a@example.com"])
    db.session.commit()
    monkeypatch.setitem(app.config, "SMTP_SECURITY", "none")
    send_outbox(db.session)
    mail = rows(OutboxMail)[0]  # in clear the server offers no login at all
    assert mail.status == "pending" and "AUTH" in mail.last_error
    monkeypatch.setitem(app.config, "SMTP_USER", None)
    make_due(OutboxMail)
    send_outbox(db.session)
    db.session.refresh(mail)
    assert mail.status == "pending" and "STARTTLS" in mail.last_error
    monkeypatch.setitem(app.config, "SMTP_USER", SMTP_USER)
    monkeypatch.setitem(app.config, "SMTP_SECURITY", "starttls")
    monkeypatch.setitem(app.config, "SMTP_PASSWORD", "wrong")
    make_due(OutboxMail)
    send_outbox(db.session)
    db.session.refresh(mail)
    assert mail.status == "pending" and "535" in mail.last_error  # authentication failed
    assert smtp_server.messages == []


def test_dingtalk_message_is_signed_as_dingtalk_documents(world, webhooks):
    secret = "SEC0123456789abcdef"
    _robot, path = add_robot(webhooks, ["archive_flag"], platform="dingtalk", secret=secret)
    notify(
        db.session,
        [world.archivist],
        "archive-flag:1",
        "archive_flag",
        "档案完整性：文件缺失",
        target=Target("archive_document.details_view", 5),
    )
    db.session.commit()
    assert send_outbox(db.session) == 1
    ((p, query, body),) = webhooks.requests
    assert p == path and query["access_token"] == ["ding-test-token"]
    ts = query["timestamp"][0]
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["sign"] == [expected]
    assert abs(int(ts) / 1000 - utcnow().timestamp()) < 3600 * 24  # milliseconds
    assert body["msgtype"] == "markdown" and body["markdown"]["title"]
    assert f"{BASE_URL}/admin/archive_document/details/?id=5" in body["markdown"]["text"]


def test_only_the_kinds_a_group_takes_reach_it(world, webhooks):
    _r, path = add_robot(webhooks, ["credit_90"])
    notify(db.session, [world.am1], "e:1", "credit_80", "八成")
    notify(db.session, [world.am1], "e:2", "credit_90", "九成")
    db.session.commit()
    send_outbox(db.session)
    (body,) = webhooks.bodies(path)
    assert "九成" in body["markdown"]["content"] and "八成" not in body["markdown"]["content"]


def test_a_burst_of_500_crossings_makes_a_handful_of_robot_messages(world, webhooks):
    from crm.clients.models import Client
    from crm.clients.services import register_clients
    from crm.credit.models import CreditBalance, CreditProfile

    _r, path = add_robot(webhooks, ["credit_80"])
    clients = register_clients(
        db.session,
        [
            (
                Client(
                    name=f"批量客户{n:03d}号",
                    kind="organisation",
                    level="B",
                    phone="010-88886666",
                    credit_code=valid_credit_code(10000 + n),
                    owner_id=world.am1.id,
                    region_id=world.am1.region_id,
                ),
                None,
            )
            for n in range(500)
        ],
    )
    db.session.add_all(
        [
            CreditProfile(client_id=c.id, grade="A", credit_limit=10000, period_days=30)
            for c in clients
        ]
    )
    db.session.commit()
    # Balances as an import leaves them (no check ran): 85% of each limit owed.
    db.session.add_all(
        [CreditBalance(client_id=c.id, outstanding=8500, credit_limit=10000) for c in clients]
    )
    db.session.commit()
    checks.check_now(db.session)  # one check finds 500 crossings at once
    assert db.session.scalar(select(func.count()).select_from(RobotItem)) == 500
    send_outbox(db.session)
    send_outbox(db.session)
    bodies = [b["markdown"]["content"] for b in webhooks.bodies(path)]
    assert 1 < len(bodies) <= 5
    assert all(len(b.encode()) <= 4096 for b in bodies)
    listed = {m for b in bodies for m in re.findall(r"批量客户\d{3}号", b)}
    assert len(listed) == 500  # every crossing named, none twice
    assert sum(len(re.findall(r"批量客户\d{3}号", b)) for b in bodies) == 500
    assert all(f"{BASE_URL}/admin/credit_profile/" in b for b in bodies)


def test_a_robot_gets_no_more_than_its_minute_allows(world, webhooks, monkeypatch):
    _r, path = add_robot(webhooks, ["t"])
    monkeypatch.setattr(delivery, "MESSAGE_BYTES", 300)  # small messages: many of them
    for n in range(40):
        notify(db.session, [], f"e:{n}", "t", f"通知{n:02d}" + "。" * 60)
    db.session.commit()
    send_outbox(db.session)
    assert len(webhooks.bodies(path)) == 18  # the setting: 18 a minute, under the robots' 20
    waiting = rows(RobotMessage, status="pending")
    assert waiting and all(m.attempts == 0 for m in waiting)
    assert len(rows(RobotMessage)) == 40
    per_sweep = [18]
    while rows(RobotMessage, status="pending"):  # a minute later, the next ones go
        db.session.execute(
            update(RobotMessage)
            .where(RobotMessage.status == "sent")
            .values(sent_at=utcnow() - timedelta(minutes=2))
        )
        db.session.commit()
        before = len(webhooks.requests)
        send_outbox(db.session)
        per_sweep.append(len(webhooks.requests) - before)
    assert per_sweep == [18, 18, 4]
    sent = " ".join(b["markdown"]["content"] for b in webhooks.bodies(path))
    assert all(f"通知{n:02d}" in sent for n in range(40))


def test_a_failing_robot_is_retried_with_backoff_then_shown_to_the_admin(world, webhooks, login_as):
    _r, path = add_robot(webhooks, ["t"])
    webhooks.fail_with = {"errcode": 45009, "errmsg": "api freq out of limit"}
    notify(db.session, [], "e:fail", "t", "一条通知")
    db.session.commit()
    send_outbox(db.session)
    message = rows(RobotMessage)[0]
    assert message.status == "pending" and message.attempts == 1 and "45009" in message.last_error
    first_wait = message.next_attempt_at - utcnow()
    send_outbox(db.session)  # not due yet: the backoff holds
    assert len(webhooks.requests) == 1
    webhooks.fail_with = 500
    waits = [first_wait]
    for _ in range(4):
        make_due(RobotMessage)
        send_outbox(db.session)
        db.session.refresh(message)
        if message.next_attempt_at:
            waits.append(message.next_attempt_at - utcnow())
    assert len(webhooks.requests) == delivery.MAX_ATTEMPTS
    assert message.status == "failed" and "500" in message.last_error
    assert all(later > earlier for earlier, later in zip(waits, waits[1:], strict=False))
    make_due(RobotMessage)
    send_outbox(db.session)
    assert len(webhooks.requests) == delivery.MAX_ATTEMPTS  # given up: no more tries
    admin = login_as(world.admin)
    page = admin.get("/admin/undelivered_robot/").get_data(as_text=True)
    assert "HTTP Error 500" in page and "客户档案通知" in page
    assert login_as(world.am1).get("/admin/undelivered_robot/").status_code == 403
    webhooks.fail_with = None
    r = admin.post(
        "/admin/undelivered_robot/action/", data={"action": "retry", "rowid": [str(message.id)]}
    )
    assert r.status_code == 302
    send_outbox(db.session)
    db.session.refresh(message)
    assert message.status == "sent" and len(webhooks.requests) == delivery.MAX_ATTEMPTS + 1


def test_failed_mail_is_listed_for_the_admin_with_its_error(
    world, smtp_server, app, monkeypatch, login_as
):
    monkeypatch.setitem(app.config, "SMTP_PASSWORD", "wrong")
    notify(db.session, [], "evt:mail-fail", "t", "无法投递的邮件", addresses=["x@example.com"])
    db.session.commit()
    for _ in range(delivery.MAX_ATTEMPTS + 1):
        send_outbox(db.session)
        make_due(OutboxMail)
    mail = rows(OutboxMail)[0]
    assert mail.status == "failed" and mail.attempts == delivery.MAX_ATTEMPTS
    admin = login_as(world.admin)
    page = admin.get("/admin/undelivered_mail/").get_data(as_text=True)
    assert "x@example.com" in page and "535" in page
    assert "1 条通知消息未能送达" in admin.get("/admin/").get_data(as_text=True)
