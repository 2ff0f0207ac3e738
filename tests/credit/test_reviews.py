from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.access import SYSTEM, set_actor
from crm.credit import ledger, reevaluation
from crm.credit import reviews as credit_reviews
from crm.credit.models import CreditBalance, CreditProfile, CreditReview, LedgerEntry
from crm.errors import DomainError, NotAllowed
from crm.extensions import db
from tests.credit.conftest import give_profile

VALUES = {
    "grade": "A",
    "credit_limit": "50000",
    "period_days": 45,
    "payment_terms": "月结",
    "payment_method": "转账",
}


def test_the_chain_sets_credit_only_after_the_general_managers_approval(world):
    set_actor(world.am1)
    review = credit_reviews.propose_credit(
        db.session, world.c1.id, VALUES, "年采购额约60万，付款及时"
    )
    db.session.commit()
    steps = [(world.rm_east, "region", "sales"), (world.sales_manager, "sales", "gm")]
    for actor, before, after in steps:
        assert review.status == before
        assert ledger.profile_of(db.session, world.c1.id) is None  # nothing changes on the way
        credit_reviews.decide_review(db.session, review.id, True, f"{before} 同意", actor=actor)
        db.session.commit()
        assert review.status == after
    credit_reviews.decide_review(
        db.session, review.id, True, "同意授信", actor=world.general_manager
    )
    db.session.commit()
    profile = ledger.profile_of(db.session, world.c1.id)
    assert (profile.grade, profile.credit_limit, profile.period_days) == ("A", Decimal("50000"), 45)
    assert profile.review_id == review.id
    assert db.session.get(CreditBalance, world.c1.id).credit_limit == Decimal("50000")
    assert review.region_by_id == world.rm_east.id and review.region_opinion == "region 同意"
    assert review.gm_at is not None and review.status == "approved"


def test_each_step_belongs_to_its_role_and_region(world):
    set_actor(world.am3)
    review = credit_reviews.propose_credit(db.session, world.c3.id, VALUES)
    db.session.commit()
    for wrong in (world.rm_east, world.sales_manager, world.general_manager, world.am3):
        with pytest.raises(NotAllowed):  # the north region's manager reviews first
            credit_reviews.decide_review(db.session, review.id, True, "同意", actor=wrong)
    with pytest.raises(DomainError):
        credit_reviews.decide_review(db.session, review.id, True, "  ", actor=world.rm_north)
    credit_reviews.decide_review(
        db.session, review.id, False, "资料不全，退回", actor=world.rm_north
    )
    db.session.commit()
    assert review.status == "rejected"
    with pytest.raises(DomainError):
        credit_reviews.decide_review(db.session, review.id, True, "同意", actor=world.sales_manager)
    assert ledger.profile_of(db.session, world.c3.id) is None


def test_one_open_proposal_per_customer_and_own_customers_only(world):
    set_actor(world.am1)
    with pytest.raises(NotAllowed):
        credit_reviews.propose_credit(db.session, world.c2.id, VALUES)
    credit_reviews.propose_credit(db.session, world.c1.id, VALUES)
    with pytest.raises(DomainError):
        credit_reviews.propose_credit(db.session, world.c1.id, VALUES)
    with pytest.raises(DomainError):
        credit_reviews.propose_credit(db.session, world.c1.id, {**VALUES, "grade": "Z"})


def _history(client, charges=(), payments=()):
    for day, amount in charges:
        ledger.record_charge(db.session, client.id, amount, day, "B", override_reason="历史数据")
    for day, amount in payments:
        ledger.record_payment(db.session, client.id, amount, day, "R")
    db.session.commit()


def test_quarterly_reevaluation_on_crafted_histories(world):
    good, dry, idle = world.c1, world.c2, world.c3
    for c in (good, dry, idle):
        give_profile(c, "10000", grade="A", period_days=30)
    # good: billed and paid on time every month of the quarter
    _history(
        good,
        [(date(2026, 10, 1), "1000"), (date(2026, 11, 1), "1000"), (date(2026, 12, 1), "1000")],
        [(date(2026, 10, 20), "1000"), (date(2026, 11, 20), "1000"), (date(2026, 12, 20), "1000")],
    )
    # dry: a bill due 10-31, part paid in October, then nothing in November and December
    _history(dry, [(date(2026, 10, 1), "5000")], [(date(2026, 10, 25), "1000")])
    # idle: nothing owed, nothing paid: no reason to move either way
    made = reevaluation.quarterly_reevaluation(db.session, today=date(2027, 1, 1))
    db.session.commit()
    reviews = {r.client_id: r for r in db.session.scalars(select(CreditReview))}
    assert made == 2 and set(reviews) == {good.id, dry.id}
    assert (reviews[good.id].grade, reviews[good.id].period) == ("AA", "2027Q1")
    assert reviews[dry.id].grade == "B" and reviews[dry.id].status == "region"
    # nothing changes until approved, and a second run in the quarter proposes nothing
    assert db.session.scalars(select(CreditProfile.grade)).all() == ["A", "A", "A"]
    assert reevaluation.quarterly_reevaluation(db.session, today=date(2027, 1, 2)) == 0


def test_a_deferral_is_a_good_reason(world):
    give_profile(world.c2, "10000", grade="A", period_days=30)
    _history(world.c2, [(date(2026, 10, 1), "5000")])
    set_actor(world.rm_east)
    charge_id = db.session.scalars(select(LedgerEntry.id)).one()
    ledger.defer_charge(db.session, charge_id, date(2027, 1, 31), "春节后付款，已批准")
    db.session.commit()
    set_actor(SYSTEM)
    assert reevaluation.quarterly_reevaluation(db.session, today=date(2027, 1, 1)) == 0
