"""Notices lead somewhere (issue 14 point 6, issue 18 point 4): a notice stores a screen's
endpoint and a record id, never a URL; the inbox, the home page and the mail turn it into a
link; opening it marks it read and the bell counts one fewer."""

import ast
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

import crm
from crm.complaints import services as complaints
from crm.complaints.models import Complaint
from crm.credit import ledger
from crm.extensions import db
from crm.governance.models import ChangeRequest
from crm.intake import services as intake
from crm.notifications import delivery
from crm.notifications.models import Notification, OutboxMail
from crm.notifications.services import Target, notify
from tests.credit.conftest import give_profile

CRM = Path(crm.__file__).parent
NOT_DOMAIN = {"admin", "bench", "templates", "static", "translations"}


def domain_files():
    for package in sorted(
        p
        for p in CRM.iterdir()
        if p.is_dir() and p.name not in NOT_DOMAIN and (p / "__init__.py").exists()
    ):
        yield from sorted(package.rglob("*.py"))
    yield CRM / "workdays.py"


def test_no_domain_module_writes_a_screen_url():
    found = [
        f"{path.relative_to(CRM)}:{n}"
        for path in domain_files()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "/admin/" in line
    ]
    assert found == []
    assert len(list(domain_files())) > 30  # the walk reaches the areas


def test_every_target_the_code_names_is_a_registered_screen(app):
    """Each Target("endpoint", …) in crm/ names an endpoint of the app, and a details page
    only where the view shows details."""
    named = set()
    for path in CRM.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "Target"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                named.add(node.args[0].value)
    named.add("card.details_view")  # the set-based card notices write it as a literal
    assert len(named) >= 12
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert named - endpoints == set()


def open_notice(c, note: Notification):
    """Open a notice from the inbox as its recipient; the page it leads to."""
    r = c.get(f"/admin/inbox/open/{note.id}")
    assert r.status_code == 302
    page = c.get(r.headers["Location"])
    return r.headers["Location"], page


def notices_of(user) -> list[Notification]:
    db.session.expire_all()
    return db.session.scalars(
        select(Notification)
        .where(Notification.recipient_id == user.id)
        .execution_options(crm_unscoped=True)
        .order_by(Notification.id)
    ).all()


def test_a_credit_notice_leads_its_recipient_to_the_credit_profile(world, act, login_as):
    profile = give_profile(world.c1, "1000.00")
    act(world.finance)
    ledger.record_charge(db.session, world.c1.id, "850.00", date(2026, 11, 1), "INV-1")
    db.session.commit()
    [note] = [n for n in notices_of(world.am1) if n.kind == "credit_80"]
    assert (note.link_endpoint, note.link_id, note.link) == (
        "credit_profile.details_view",
        profile.id,
        None,
    )
    where, page = open_notice(login_as(world.am1), note)
    assert where.endswith(f"/admin/credit_profile/details/?id={profile.id}")
    assert page.status_code == 200 and world.c1.name in page.get_data(as_text=True)


def test_an_assigned_customer_leads_to_its_card(world, act, login_as):
    act(world.rm_east)
    intake.assign_client(db.session, world.c1, world.am2)
    db.session.commit()
    [note] = [n for n in notices_of(world.am2) if n.kind == "client_assigned"]
    where, page = open_notice(login_as(world.am2), note)
    assert where.endswith(f"/admin/client/details/?id={world.c1.id}")
    assert page.status_code == 200


def test_a_complaint_handed_over_leads_to_the_complaint(world, act, login_as):
    act(world.service)
    complaint = complaints.record_complaint(
        db.session,
        Complaint(
            client_id=world.c1.id, channel="phone", category="service", description="包装破损"
        ),
    )
    db.session.commit()
    complaints.hand_over(db.session, complaint, world.am1, "请跟进")
    db.session.commit()
    [note] = [n for n in notices_of(world.am1) if n.kind == "complaint"]
    where, page = open_notice(login_as(world.am1), note)
    assert where.endswith(f"/admin/complaint/details/?id={complaint.id}")
    assert page.status_code == 200 and "包装破损" in page.get_data(as_text=True)


def test_a_change_request_leads_the_approver_to_the_request(world, login_as):
    from tests.governance.test_changes import card_form

    r = login_as(world.am1).post(
        f"/admin/client/edit/?id={world.c1.id}",
        data=card_form(world.c1, short_name="甲贸易", change_reason="客户更名"),
    )
    assert r.status_code == 302
    request = db.session.scalars(select(ChangeRequest)).one()
    [note] = [n for n in notices_of(world.sales_manager) if n.kind == "change_request"]
    where, page = open_notice(login_as(world.sales_manager), note)
    assert where.endswith(f"/admin/change_request/details/?id={request.id}")
    assert page.status_code == 200 and "客户更名" in page.get_data(as_text=True)


def bell(c) -> str:
    html = c.get("/admin/").get_data(as_text=True)
    return re.search(r'id="bell-count">([^<]*)<', html).group(1)


def test_opening_a_notice_marks_it_read_and_the_bell_counts_one_fewer(world, login_as):
    for n in (1, 2):
        notify(
            db.session,
            [world.am1],
            f"e:{n}",
            "client_assigned",
            f"分配给你的客户 {n}",
            target=Target("client.details_view", world.c1.id),
        )
    db.session.commit()
    c = login_as(world.am1)
    assert bell(c) == "2"
    home = c.get("/admin/").get_data(as_text=True)
    first, second = notices_of(world.am1)
    assert f"/admin/inbox/open/{first.id}" in home  # the home page links through "open"
    inbox = c.get("/admin/inbox/").get_data(as_text=True)
    assert f"/admin/inbox/open/{second.id}" in inbox
    where, page = open_notice(c, first)
    assert where.endswith(f"/admin/client/details/?id={world.c1.id}") and page.status_code == 200
    assert notices_of(world.am1)[0].read_at is not None
    assert notices_of(world.am1)[1].read_at is None
    assert bell(c) == "1"


def test_another_users_notice_is_not_found_and_stays_unread(world, login_as):
    notify(
        db.session,
        [world.am1],
        "e:1",
        "client_assigned",
        "分配给你的客户",
        target=Target("client.details_view", world.c1.id),
    )
    db.session.commit()
    [note] = notices_of(world.am1)
    for other in (world.am2, world.sales_manager, world.admin):
        assert login_as(other).get(f"/admin/inbox/open/{note.id}").status_code == 404
    assert notices_of(world.am1)[0].read_at is None


def test_a_notice_written_before_targets_still_leads_to_its_path(world, login_as):
    db.session.add(
        Notification(
            recipient_id=world.am1.id,
            event_key="old:1",
            kind="credit_80",
            title="旧通知",
            link=f"/admin/client/details/?id={world.c1.id}",
        )
    )
    db.session.commit()
    [note] = notices_of(world.am1)
    where, page = open_notice(login_as(world.am1), note)
    assert where.endswith(f"/admin/client/details/?id={world.c1.id}") and page.status_code == 200
    assert delivery.absolute_for(note).endswith(f"/admin/client/details/?id={world.c1.id}")


def test_a_notice_without_a_target_opens_the_inbox(world, login_as):
    notify(db.session, [world.am1], "e:1", "handover", "交接")
    db.session.commit()
    [note] = notices_of(world.am1)
    where, page = open_notice(login_as(world.am1), note)
    assert where.endswith("/admin/inbox/") and page.status_code == 200


@pytest.mark.usefixtures("world")
def test_mail_carries_the_absolute_url_of_the_target(world, app):
    world.am1.email = "am1@example.com"
    db.session.commit()
    notify(
        db.session,
        [world.am1],
        "e:1",
        "client_assigned",
        "分配给你的客户",
        target=Target("client.details_view", world.c1.id),
    )
    db.session.commit()
    mail = db.session.scalars(select(OutboxMail)).one()
    assert (mail.link_endpoint, mail.link_id) == ("client.details_view", world.c1.id)
    text = delivery.build_mail(mail).get_body(("plain",)).get_content()
    base = app.config["BASE_URL"].rstrip("/")
    assert f"{base}/admin/client/details/?id={world.c1.id}" in text
    assert f"{base}/admin/notice_preferences/" in text
    assert (
        delivery.absolute(endpoint="client.details_view", record_id=7)
        == f"{base}/admin/client/details/?id=7"
    )
