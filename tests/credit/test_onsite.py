"""R11: a customer's own request for a higher limit needs an on-site check before approval."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from crm.access import set_actor
from crm.audit import AuditEvent
from crm.credit import ledger, onsite, reviews
from crm.credit.models import CreditReview
from crm.errors import DomainError, NotAllowed
from crm.extensions import db
from crm.timeutil import local_today
from tests.credit.conftest import give_profile

VALUES = {"grade": "A", "credit_limit": "50000", "period_days": 45}


def _propose(world, actor, origin, limit="50000"):
    give_profile(world.c1, "10000.00")
    set_actor(actor)
    review = reviews.propose_credit(
        db.session,
        world.c1.id,
        {**VALUES, "credit_limit": limit},
        "客户来函申请提高额度",
        origin=origin,
    )
    db.session.commit()
    for reviewer in (world.rm_east, world.sales_manager):
        reviews.decide_review(db.session, review.id, True, "同意", actor=reviewer)
    db.session.commit()
    return review


def _limit(world):
    db.session.expire_all()
    return ledger.profile_of(db.session, world.c1.id).credit_limit


def test_a_self_requested_increase_without_an_on_site_check_cannot_be_approved(world):
    review = _propose(world, world.am1, onsite.CUSTOMER_REQUEST)
    with force_locale("zh_Hans_CN"), pytest.raises(DomainError) as refused:
        reviews.decide_review(db.session, review.id, True, "同意授信", actor=world.general_manager)
    assert "实地考察" in str(refused.value.message)
    db.session.rollback()
    review = db.session.get(CreditReview, review.id)
    assert review.status == "gm" and review.gm_opinion is None and review.gm_by_id is None
    assert _limit(world) == Decimal("10000.00")
    # a rejection needs no check
    reviews.decide_review(db.session, review.id, False, "不同意", actor=world.general_manager)
    assert review.status == "rejected"


def test_with_an_on_site_check_the_self_requested_increase_is_approved(world):
    review = _propose(world, world.am1, onsite.CUSTOMER_REQUEST)
    set_actor(world.am1)
    check = onsite.record_check(
        db.session, review, "张三、李四", local_today(), "厂区运转正常，库存充足，月产值约200万"
    )
    db.session.commit()
    reviews.decide_review(db.session, review.id, True, "同意授信", actor=world.general_manager)
    db.session.commit()
    assert review.status == "approved" and _limit(world) == Decimal("50000.00")
    [event] = db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity == "credit_onsite_checks")
    ).all()
    assert event.entity_id == check.id and event.action == "create"
    assert event.client_id == world.c1.id and event.changes["findings"][1].startswith("厂区")


def test_a_manager_initiated_proposal_needs_no_on_site_check(world):
    review = _propose(world, world.sales_manager, "proposal")
    reviews.decide_review(db.session, review.id, True, "同意授信", actor=world.general_manager)
    db.session.commit()
    assert review.status == "approved" and _limit(world) == Decimal("50000.00")


def test_a_self_requested_lower_limit_needs_no_on_site_check(world):
    review = _propose(world, world.am1, onsite.CUSTOMER_REQUEST, limit="8000")
    reviews.decide_review(db.session, review.id, True, "同意", actor=world.general_manager)
    assert review.status == "approved"


def test_an_on_site_check_is_complete_dated_and_in_scope(world):
    review = _propose(world, world.am1, onsite.CUSTOMER_REQUEST)
    set_actor(world.am1)
    with pytest.raises(DomainError) as incomplete:
        onsite.record_check(db.session, review, " ", local_today() + timedelta(days=1), "")
    assert set(incomplete.value.field_errors) == {"checked_by", "checked_on", "findings"}
    set_actor(world.am2)
    with pytest.raises(NotAllowed):
        onsite.record_check(db.session, review, "王五", date(2026, 11, 1), "正常")
    assert onsite.checks_of(db.session, review.id) == []


def test_the_proposal_screen_records_the_check_and_the_chain_then_approves(world, login_as):
    give_profile(world.c1, "10000.00")
    am1 = login_as(world.am1)
    am1.post(
        "/admin/credit_review/new/",
        data={
            "client": world.c1.id,
            "grade": "A",
            "credit_limit": "60000",
            "period_days": "30",
            "situation": "客户申请提高额度",
            "customer_request": "y",
        },
    )
    review = db.session.scalars(select(CreditReview)).one()
    assert review.origin == onsite.CUSTOMER_REQUEST
    for user in (world.rm_east, world.sales_manager):
        login_as(user).post(
            f"/admin/credit_review/edit/?id={review.id}",
            data={"decision": "approve", "opinion": "同意"},
        )
    gm = login_as(world.general_manager)
    with force_locale("zh_Hans_CN"):
        page = gm.get(f"/admin/credit_review/details/?id={review.id}").get_data(as_text=True)
        refused = gm.post(
            f"/admin/credit_review/edit/?id={review.id}",
            data={"decision": "approve", "opinion": "同意"},
            follow_redirects=True,
        ).get_data(as_text=True)
    assert 'id="onsite-missing"' in page and 'id="onsite-form"' in page and "实地考察" in page
    assert "实地考察" in refused
    db.session.expire_all()
    assert db.session.get(CreditReview, review.id).status == "gm"
    # another account manager's customer: 404, nothing recorded
    assert (
        login_as(world.am2)
        .post(
            "/admin/credit_onsite/record/",
            data={
                "review_id": review.id,
                "checked_by": "王五",
                "checked_on": "2026-11-01",
                "findings": "正常",
            },
        )
        .status_code
        == 404
    )
    am1 = login_as(world.am1)
    am1.post(
        "/admin/credit_onsite/record/",
        data={
            "review_id": review.id,
            "checked_by": "张三",
            "checked_on": str(local_today()),
            "findings": "经营正常",
        },
    )
    assert [c.checked_by for c in onsite.checks_of(db.session, review.id)] == ["张三"]
    gm = login_as(world.general_manager)
    gm.post(
        f"/admin/credit_review/edit/?id={review.id}",
        data={"decision": "approve", "opinion": "同意"},
    )
    db.session.expire_all()
    assert db.session.get(CreditReview, review.id).status == "approved"
    assert "经营正常" in login_as(world.am1).get("/admin/credit_onsite/").get_data(as_text=True)
    assert "经营正常" not in login_as(world.am2).get("/admin/credit_onsite/").get_data(as_text=True)
