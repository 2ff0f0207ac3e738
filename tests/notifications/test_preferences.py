"""Each person chooses per kind: inbox only, mail, or one daily digest; the digest goes once a
day at the set hour, listing what arrived."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from crm.extensions import db
from crm.notifications.delivery import send_digests
from crm.notifications.models import NoticePreference, Notification, OutboxMail
from crm.notifications.services import Target, notify, send_outbox
from crm.settings import Setting
from crm.timeutil import utcnow


def mails_to(address):
    return db.session.scalars(
        select(OutboxMail).where(OutboxMail.to_address == address).order_by(OutboxMail.id)
    ).all()


def choose(client, **modes):
    data = {f"mode-{kind}": mode for kind, mode in modes.items()}
    r = client.post("/admin/notice_preferences/", data=data)
    assert r.status_code == 302, r.get_data(as_text=True)[:500]


def test_each_person_chooses_per_kind_on_their_own_screen(world, login_as):
    world.am1.email, world.am2.email = "am1@example.com", "am2@example.com"
    db.session.commit()
    c = login_as(world.am1)
    page = c.get("/admin/notice_preferences/").get_data(as_text=True)
    assert "信用使用超过 80%" in page and "仅站内通知" in page and "每日摘要" in page
    choose(c, credit_80="inbox", archive_flag="digest")
    assert (
        'name="mode-credit_80" value="inbox" aria-label="信用使用超过 80%: 仅站内通知" checked'
        in c.get("/admin/notice_preferences/").get_data(as_text=True)
    )
    for user in (world.am1, world.am2):
        notify(db.session, [user], f"credit:80:x:{user.id}", "credit_80", "额度八成")
        notify(db.session, [user], f"flag:{user.id}", "archive_flag", "档案异常")
        notify(db.session, [user], f"grant:{user.id}", "view_grant", "查阅申请")
    db.session.commit()
    assert len(db.session.scalars(select(Notification)).all()) == 6  # the inbox gets them all
    assert [m.kind for m in mails_to("am1@example.com")] == ["view_grant"]
    assert [m.kind for m in mails_to("am2@example.com")] == [
        "credit_80",
        "archive_flag",
        "view_grant",
    ]
    # Another person's choices are not touched, and unknown choices are refused.
    assert db.session.scalars(select(NoticePreference.user_id)).all() == [world.am1.id] * 2
    r = c.post("/admin/notice_preferences/", data={"mode-credit_80": "pigeon"})
    assert r.status_code == 200
    assert (
        db.session.scalar(select(NoticePreference.mode).where(NoticePreference.kind == "credit_80"))
        == "inbox"
    )


def test_a_person_who_chose_the_digest_gets_one_message_a_day(world, login_as, app):
    world.am1.email = "am1@example.com"
    db.session.commit()
    choose(login_as(world.am1), credit_80="digest", archive_flag="digest")
    zone = ZoneInfo(app.config["TIMEZONE"])
    now = utcnow()
    local = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)
    hour = (local.hour + 1) % 24  # the digest hour comes an hour from now
    db.session.add(Setting(key="notice_digest_hour", value=hour))
    notify(
        db.session,
        [world.am1],
        "credit:80:a",
        "credit_80",
        "甲公司额度八成",
        "甲公司欠款已达额度的 80%。",
        target=Target("credit_profile.details_view", 1),
    )
    notify(db.session, [world.am1], "flag:a", "archive_flag", "档案文件缺失")
    notify(db.session, [world.am1], "grant:a", "view_grant", "查阅申请")  # mailed at once
    db.session.commit()
    assert [m.kind for m in mails_to("am1@example.com")] == ["view_grant"]
    assert send_digests(db.session, now) == 0  # before the hour: yesterday's window, empty
    at_hour = now + timedelta(hours=1)
    for later in (at_hour, at_hour + timedelta(minutes=5), at_hour + timedelta(hours=3)):
        send_digests(db.session, later)  # beat runs every hour: one digest for the day
    digests = [m for m in mails_to("am1@example.com") if m.kind == "digest"]
    assert len(digests) == 1
    digest = digests[0]
    assert "甲公司额度八成" in digest.body and "档案文件缺失" in digest.body
    assert "查阅申请" not in digest.body
    assert "https://" in digest.body or "http://" in digest.body  # absolute links
    assert "每日通知摘要" in digest.subject and "2 条" in digest.subject
    assert send_outbox(db.session) == 2
    next_day = at_hour + timedelta(days=1)
    assert send_digests(db.session, next_day) == 0  # nothing new arrived: no empty digest
    notify(db.session, [world.am1], "flag:b", "archive_flag", "又一份档案缺失")
    db.session.execute(
        update(Notification).where(Notification.event_key == "flag:b").values(created_at=next_day)
    )  # it arrives on the next day
    db.session.commit()
    assert send_digests(db.session, next_day + timedelta(hours=1)) == 0  # that day's went
    assert send_digests(db.session, next_day + timedelta(days=1)) == 1
    second = [m for m in mails_to("am1@example.com") if m.kind == "digest"][1]
    assert "又一份档案缺失" in second.body and "甲公司额度八成" not in second.body
