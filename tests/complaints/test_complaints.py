from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.audit import AuditEvent
from crm.clients.models import Client
from crm.complaints import services
from crm.complaints.models import Complaint, ComplaintHandover, Discount, Withdrawal
from crm.errors import DomainError, NotAllowed
from crm.extensions import db
from crm.notifications.models import Notification


def take(client, **kw) -> Complaint:
    values = {
        "client_id": client.id,
        "channel": "phone",
        "category": "service",
        "description": "宴会上菜慢，客人不满",
    }
    values.update(kw)
    complaint = services.record_complaint(db.session, Complaint(**values))
    db.session.commit()
    return complaint


@pytest.fixture
def complaint(world, act):
    """A complaint about c1 (am1's customer) taken by customer service."""
    act(world.service)
    return take(world.c1)


# --- first responder (R14) ------------------------------------------------------------------
def test_whoever_records_it_is_first_responder_and_owner(world, complaint):
    assert complaint.first_responder_id == complaint.responder_id == world.service.id
    assert complaint.status == "open"


def test_only_the_owner_or_a_manager_changes_it(world, act, complaint):
    act(world.am1)  # may read and write c1's archive, but does not own this complaint
    complaint.resolution = "改口"
    with pytest.raises(NotAllowed):
        services.update_complaint(db.session, complaint, "open")
    db.session.rollback()
    act(world.service)
    complaint.status, complaint.liability = "handling", "ours"
    services.update_complaint(db.session, complaint, "open", "查明原因")
    db.session.commit()
    # The progress applies; the liability finding waits for a manager (R6, crm.governance).
    assert (complaint.status, complaint.liability) == ("handling", None)
    act(world.sales_manager)
    complaint.satisfaction, complaint.liability = "neutral", "ours"
    services.update_complaint(db.session, complaint, "handling", "责任鉴定")
    db.session.commit()
    assert complaint.liability == "ours" and complaint.satisfaction == "neutral"


def test_hand_over_is_recorded_and_moves_ownership(world, act, complaint):
    with pytest.raises(DomainError):
        services.hand_over(db.session, complaint, world.am1, "  ")
    with pytest.raises(DomainError):  # am3 cannot act on c1: not a valid receiver
        services.hand_over(db.session, complaint, world.am3, "请跟进")
    row = services.hand_over(db.session, complaint, world.am1, "客户要求客户经理处理")
    db.session.commit()
    assert (row.from_user_id, row.to_user_id, row.note) == (
        world.service.id,
        world.am1.id,
        "客户要求客户经理处理",
    )
    assert row.at is not None
    assert complaint.responder_id == world.am1.id
    assert complaint.first_responder_id == world.service.id  # the first responder stays
    assert complaint.status == "handling"
    inbox = db.session.scalars(
        select(Notification)
        .where(Notification.recipient_id == world.am1.id)
        .execution_options(crm_unscoped=True)
    ).all()
    assert [n.kind for n in inbox] == ["complaint"]
    complaint.resolution = "x"
    with pytest.raises(NotAllowed):  # the former owner no longer owns it
        services.update_complaint(db.session, complaint, "handling")
    db.session.rollback()
    act(world.am1)
    complaint.status, complaint.resolution = "solved", "赠送甜品并致歉"
    services.update_complaint(db.session, complaint, "handling")
    db.session.commit()
    assert complaint.solved_at is not None
    with pytest.raises(DomainError):
        services.hand_over(db.session, complaint, world.service, "再转")


def test_solving_needs_a_resolution_and_stays_solved(world, complaint):
    complaint.status = "solved"
    with pytest.raises(DomainError) as err:
        services.update_complaint(db.session, complaint, "open")
    assert "resolution" in err.value.field_errors
    complaint.resolution = "已处理"
    services.update_complaint(db.session, complaint, "open")
    complaint.status = "handling"
    with pytest.raises(DomainError) as err:
        services.update_complaint(db.session, complaint, "solved")
    assert "status" in err.value.field_errors


def test_out_of_scope_complaint_cannot_be_taken(world, act):
    act(world.am1)
    with pytest.raises(NotAllowed):
        take(world.c3)
    db.session.rollback()
    with pytest.raises(DomainError) as err:
        take(world.c1, channel="pigeon", description="")
    assert {"channel", "description"} <= set(err.value.field_errors)


# --- discounts --------------------------------------------------------------------------------
def test_a_discount_counts_only_after_a_managers_approval(world, act, complaint):
    discount = services.request_discount(db.session, complaint, "300", "上菜慢折价")
    db.session.commit()
    assert discount.status == "pending"
    assert services.counted_discounts(db.session, client_id=world.c1.id) == Decimal("0.00")
    for user in (world.am1, world.rm_east, world.service, world.finance):
        act(user)
        with pytest.raises(NotAllowed):
            services.decide_discount(db.session, discount, True)
    act(world.sales_manager)
    services.decide_discount(db.session, discount, True, "同意")
    db.session.commit()
    assert services.counted_discounts(db.session, client_id=world.c1.id) == Decimal("300.00")
    assert (discount.decided_by_id, discount.amount, discount.reason) == (
        world.sales_manager.id,
        Decimal("300.00"),
        "上菜慢折价",
    )
    assert discount.decided_at is not None
    with pytest.raises(DomainError):
        services.decide_discount(db.session, discount, False, "反悔")


def test_a_rejected_discount_never_counts(world, act, complaint):
    discount = services.request_discount(db.session, complaint, Decimal("50"), "小额补偿")
    act(world.general_manager)
    with pytest.raises(DomainError):
        services.decide_discount(db.session, discount, False)  # a rejection says why
    services.decide_discount(db.session, discount, False, "责任在客户")
    db.session.commit()
    assert services.counted_discounts(db.session, complaint_id=complaint.id) == 0
    with pytest.raises(DomainError):
        services.request_discount(db.session, complaint, "-5", "x")
    with pytest.raises(DomainError):
        services.request_discount(db.session, complaint, "NaN", "x")


# --- withdrawal -------------------------------------------------------------------------------
def test_withdrawal_keeps_the_reason_and_the_archive(world, act):
    act(world.am1)
    stage = world.c1.stage
    with pytest.raises(DomainError):
        services.withdraw_member(db.session, world.c1, " ")
    row = services.withdraw_member(db.session, world.c1, "搬迁外地", date(2026, 11, 20))
    db.session.commit()
    client = db.session.get(Client, world.c1.id)
    assert client.stage == "former" and client.deleted_at is None
    assert (row.reason, row.previous_stage, row.recorded_by_id) == ("搬迁外地", stage, world.am1.id)
    event = db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.entity == "clients",
            AuditEvent.entity_id == client.id,
            AuditEvent.action == "update",
        )
        .order_by(AuditEvent.id)
    ).all()[-1]
    assert event.changes["stage"][1] == "former" and event.reason == "搬迁外地"
    with pytest.raises(DomainError):
        services.withdraw_member(db.session, client, "再退一次")
    act(world.am1)
    with pytest.raises(NotAllowed):
        services.withdraw_member(db.session, world.c3, "不是我的客户")


# --- through the admin ------------------------------------------------------------------------
@pytest.fixture
def both(world, act):
    act(None)
    return {
        "c1": take(world.c1, first_responder_id=world.service.id),
        "c3": take(world.c3, first_responder_id=world.service.id, description="客房噪音"),
    }


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("am1", {"c1"}),
        ("am3", {"c3"}),
        ("rm_east", {"c1"}),
        ("service", {"c1", "c3"}),
        ("sales_manager", {"c1", "c3"}),
    ],
)
def test_complaints_are_scoped(world, both, login_as, who, sees):
    c = login_as(getattr(world, who))
    assert c.get("/admin/complaint/").status_code == 200
    for key, complaint in both.items():
        status = c.get(f"/admin/complaint/details/?id={complaint.id}").status_code
        assert status == (200 if key in sees else 404), (who, key)


def test_finance_and_clerk_do_not_open_complaints(world, login_as):
    for user in (world.finance, world.clerk):
        assert login_as(user).get("/admin/complaint/").status_code == 403


def test_taking_a_complaint_on_screen_makes_you_its_owner(world, login_as):
    c = login_as(world.service)
    r = c.post(
        "/admin/complaint/new/",
        data={
            "client": str(world.c2.id),
            "channel": "walk_in",
            "category": "facility",
            "description": "停车场无指引",
        },
    )
    assert r.status_code == 302
    complaint = db.session.scalars(select(Complaint)).one()
    assert complaint.first_responder_id == complaint.responder_id == world.service.id


def test_hand_over_and_discount_from_the_complaint_page(world, both, login_as):
    complaint = both["c1"]
    c = login_as(world.service)
    page = c.get(f"/admin/complaint/details/?id={complaint.id}").get_data(as_text=True)
    assert 'id="handover-form"' in page and f'value="{world.am3.id}"' not in page
    c.post(
        "/admin/complaint/handover/",
        data={"id": complaint.id, "to_user": world.am1.id, "note": "转客户经理"},
    )
    c.post(
        "/admin/complaint/discount/",
        data={"id": complaint.id, "amount": "120", "reason": "致歉折价"},
    )
    db.session.expire_all()
    assert db.session.get(Complaint, complaint.id).responder_id == world.am1.id
    assert db.session.scalars(select(ComplaintHandover)).one().note == "转客户经理"
    assert db.session.scalars(select(Discount)).one().status == "pending"


def test_an_account_manager_may_not_approve_a_discount(world, both, act, login_as):
    act(world.service)
    discount = services.request_discount(db.session, both["c1"], "200", "补偿")
    db.session.commit()
    am1 = login_as(world.am1)
    assert 'id="approve-' not in am1.get("/admin/discount/").get_data(as_text=True)
    r = am1.post("/admin/discount/decide/", data={"id": discount.id, "decision": "approve"})
    assert r.status_code == 403
    db.session.expire_all()
    assert db.session.get(Discount, discount.id).status == "pending"
    assert (
        login_as(world.am3)
        .post("/admin/discount/decide/", data={"id": discount.id, "decision": "approve"})
        .status_code
        == 404
    )
    manager = login_as(world.sales_manager)
    assert f'id="approve-{discount.id}"' in manager.get("/admin/discount/").get_data(as_text=True)
    manager.post(
        "/admin/discount/decide/", data={"id": discount.id, "decision": "approve", "note": "同意"}
    )
    db.session.expire_all()
    decided = db.session.get(Discount, discount.id)
    assert decided.status == "approved" and decided.decided_by_id == world.sales_manager.id


def test_withdrawal_on_screen(world, login_as):
    c = login_as(world.am1)
    r = c.post(
        "/admin/withdrawal/new/",
        data={"client": str(world.c1.id), "withdrawn_on": "2026-11-20", "reason": "不再续会"},
    )
    assert r.status_code == 302
    assert db.session.scalars(select(Withdrawal)).one().reason == "不再续会"
    db.session.expire_all()
    assert db.session.get(Client, world.c1.id).stage == "former"
    assert (
        login_as(world.am3).get("/admin/withdrawal/").get_data(as_text=True).count("不再续会") == 0
    )


def test_the_system_enters_a_decision_only_on_behalf_of_a_manager(world, act, complaint):
    discount = services.request_discount(db.session, complaint, "80", "补偿")
    act(None)
    with pytest.raises(NotAllowed):
        services.decide_discount(db.session, discount, True, on_behalf_of=world.am1)
    services.decide_discount(db.session, discount, True, on_behalf_of=world.sales_manager)
    assert discount.decided_by_id == world.sales_manager.id
