"""Managers set up the group robots and the kinds each takes; the webhook URL and DingTalk's
secret are kept encrypted and never shown again."""

from sqlalchemy import select

from crm.audit import AuditEvent
from crm.extensions import db
from crm.notifications import delivery
from crm.notifications.models import NoticeRobot, RobotItem
from crm.notifications.services import notify

URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


def test_a_manager_sets_up_a_robot_and_chooses_its_kinds(world, login_as):
    c = login_as(world.sales_manager)
    r = c.post(
        "/admin/notice_robot/new/",
        data={
            "name": "华东销售群",
            "platform": "dingtalk",
            "active": "y",
            "webhook_url": URL,
            "secret": "SECabc",
            "kind_choice": ["credit_80", "credit_90"],
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    robot = db.session.scalars(select(NoticeRobot)).one()
    assert robot.kinds == ["credit_80", "credit_90"]
    assert URL not in robot.webhook_token and "SECabc" not in (robot.secret_token or "")
    assert delivery.robot_webhook(robot) == URL and delivery.robot_secret(robot) == "SECabc"
    page = c.get("/admin/notice_robot/").get_data(as_text=True)
    assert "华东销售群" in page and "信用使用超过 90%" in page and "693a91f6" not in page
    edit = c.get(f"/admin/notice_robot/edit/?id={robot.id}").get_data(as_text=True)
    assert "693a91f6" not in edit and "SECabc" not in edit
    r = c.post(
        f"/admin/notice_robot/edit/?id={robot.id}",
        data={
            "name": "华东销售群",
            "platform": "dingtalk",
            "active": "y",
            "webhook_url": "",
            "secret": "",
            "kind_choice": ["credit_90"],
        },
    )
    assert r.status_code == 302
    db.session.refresh(robot)
    assert robot.kinds == ["credit_90"] and delivery.robot_webhook(robot) == URL  # kept
    audit = db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity == "notice_robots").order_by(AuditEvent.id)
    ).all()
    assert [a.action for a in audit] == ["create", "update"]
    assert URL not in str(audit[0].changes)  # masked in the audit trail
    notify(db.session, [world.am1], "e:80", "credit_80", "八成")
    notify(db.session, [world.am1], "e:90", "credit_90", "九成")
    db.session.commit()
    assert db.session.scalars(select(RobotItem.event_key)).all() == ["e:90"]


def test_robots_are_for_managers_and_the_administrator(world, login_as):
    assert login_as(world.am1).get("/admin/notice_robot/").status_code == 403
    assert login_as(world.finance).get("/admin/notice_robot/").status_code == 403
    assert login_as(world.admin).get("/admin/notice_robot/").status_code == 200
