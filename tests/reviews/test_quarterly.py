"""The quarterly analysis proposes exactly the crafted moves; approval is the only way a class
changes, and it goes through the card's change path (history, audit)."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm import access
from crm.audit import AuditEvent
from crm.clients.models import Client
from crm.errors import DomainError, NotAllowed
from crm.extensions import db
from crm.reviews import quarterly
from crm.reviews.consumption import Period
from crm.reviews.models import APPROVED, PENDING, REJECTED, ReclassProposal
from tests.reviews.support import Shop

Q2 = Period.parse("2026Q2")


@pytest.fixture
def crafted(world):
    """c1 (B, general, active) bought 600,000 in Q2: K and key. c2 (B, active) bought nothing
    in Q1 and Q2: former. c3 (B, general, active) bought 30,000: stays B and general."""
    shop = Shop()
    for c in (world.c1, world.c2, world.c3):
        c.stage, c.weight = "active", "general"
    shop.sell(world.c1, date(2026, 4, 1), "500000.00")
    shop.sell(world.c1, date(2026, 6, 30), "100000.00")
    shop.sell(world.c1, date(2026, 3, 31), "7.00")  # the quarter before
    shop.sell(world.c1, date(2025, 5, 1), "9.00")  # the same quarter a year ago
    shop.sell(world.c2, date(2025, 12, 31), "50000.00")
    shop.sell(world.c3, date(2026, 5, 5), "30000.00")
    db.session.commit()
    return world


def _proposals():
    return {p.client_id: p for p in db.session.scalars(select(ReclassProposal))}


def test_the_analysis_figures_per_customer(crafted):
    rows = {r.client_id: r for r in db.session.execute(quarterly.analysis_query(Q2))}
    c1 = rows[crafted.c1.id]
    assert (Decimal(c1.amount), Decimal(c1.previous_amount), Decimal(c1.year_ago_amount)) == (
        Decimal("600000"),
        Decimal("7"),
        Decimal("9"),
    )
    assert (c1.level_to, c1.weight_to, c1.stage_to) == ("K", "key", "active")
    assert (rows[crafted.c2.id].level_to, rows[crafted.c2.id].stage_to) == ("B", "former")
    assert (rows[crafted.c3.id].level_to, rows[crafted.c3.id].weight_to) == ("B", "general")


def test_a_run_proposes_exactly_the_crafted_moves_and_a_second_run_nothing(crafted):
    assert quarterly.propose(db.session, Q2) == {"quarter": "2026Q2", "new": 2, "pending": 2}
    db.session.commit()
    got = {
        cid: (p.level_from, p.level_to, p.weight_from, p.weight_to, p.stage_from, p.stage_to)
        for cid, p in _proposals().items()
    }
    assert got == {
        crafted.c1.id: ("B", "K", "general", "key", "active", "active"),
        crafted.c2.id: ("B", "B", "general", "general", "active", "former"),
    }
    assert quarterly.propose(db.session, Q2) == {"quarter": "2026Q2", "new": 0, "pending": 2}
    assert quarterly.naive_propose_count(db.session, Q2) == 2  # the loop agrees
    with pytest.raises(DomainError):
        quarterly.propose(db.session, Period.parse("2026H1"))


def test_nothing_changes_a_class_until_approval(crafted):
    quarterly.propose(db.session, Q2)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Client, crafted.c1.id).level == "B"


def test_rejection_changes_nothing(crafted):
    quarterly.propose(db.session, Q2)
    db.session.commit()
    proposal = _proposals()[crafted.c1.id]
    access.set_actor(crafted.sales_manager)
    try:
        with pytest.raises(DomainError):
            quarterly.reject(db.session, proposal, "")
        quarterly.reject(db.session, proposal, "本季大单属一次性采购")
        db.session.commit()
    finally:
        access.set_actor(None)
    db.session.expire_all()
    client = db.session.get(Client, crafted.c1.id)
    assert (client.level, client.weight) == ("B", "general")
    assert _proposals()[crafted.c1.id].status == REJECTED
    assert quarterly.propose(db.session, Q2)["new"] == 0  # not proposed again


def test_only_the_sales_manager_approves(crafted):
    quarterly.propose(db.session, Q2)
    db.session.commit()
    proposal = _proposals()[crafted.c1.id]
    for user in (crafted.am1, crafted.rm_east, crafted.general_manager):
        access.set_actor(user)
        try:
            with pytest.raises(NotAllowed):
                quarterly.approve(db.session, proposal, "同意")
        finally:
            access.set_actor(None)
    assert _proposals()[crafted.c1.id].status == PENDING


def test_approval_changes_the_class_and_records_it(crafted):
    quarterly.propose(db.session, Q2)
    db.session.commit()
    proposals = _proposals()
    access.set_actor(crafted.sales_manager)
    try:
        assert quarterly.approve_many(db.session, list(proposals.values()), "季度分析通过") == 2
        db.session.commit()
        with pytest.raises(DomainError):
            quarterly.approve(db.session, proposals[crafted.c1.id], "again")
    finally:
        access.set_actor(None)
    db.session.expire_all()
    c1, c2 = db.session.get(Client, crafted.c1.id), db.session.get(Client, crafted.c2.id)
    assert (c1.level, c1.weight, c1.stage) == ("K", "key", "active")
    assert c2.stage == "former"
    assert {p.status for p in _proposals().values()} == {APPROVED}
    event = db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.entity == "clients",
            AuditEvent.entity_id == crafted.c1.id,
            AuditEvent.action == "update",
        )
        .order_by(AuditEvent.id.desc())
    ).first()
    assert event.actor_id == crafted.sales_manager.id
    assert event.changes["level"] == ["B", "K"] and "季度分析通过" in event.reason
    assert quarterly.propose(db.session, Q2)["new"] == 0
