"""The monthly watch list: each rule on its own, once a month, the owner's record, scope."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm import access
from crm.audit import AuditEvent
from crm.complaints.models import Complaint
from crm.contracts.models import Contract
from crm.credit.models import CreditBalance, LedgerEntry, OpenItem
from crm.errors import DomainError, NotAllowed
from crm.extensions import db
from crm.reviews import watch
from crm.reviews.consumption import Period
from crm.reviews.models import WatchEntry
from tests.reviews.support import Shop

TODAY = date(2026, 6, 1)
JUNE = Period.parse("2026-06")


def _listed():
    return {
        cid: reasons
        for cid, reasons in (
            (c, r) for c, r in db.session.execute(select(WatchEntry.client_id, WatchEntry.reasons))
        )
    }


def _run():
    result = watch.make_list(db.session, JUNE, TODAY)
    db.session.commit()
    return result


def test_level_rule(world):
    world.c2.level = "K"
    db.session.commit()
    assert _run() == {"month": "2026-06", "new": 1, "total": 1}
    assert _listed() == {world.c2.id: [["level", "K"]]}


def test_consumption_drop_rule(world):
    shop = Shop()
    shop.sell(world.c1, date(2026, 4, 10), "1000.00")
    shop.sell(world.c1, date(2026, 5, 10), "600.00")  # fell 40%
    shop.sell(world.c2, date(2026, 4, 10), "1000.00")
    shop.sell(world.c2, date(2026, 5, 10), "800.00")  # fell 20%: not enough
    shop.sell(world.c3, date(2026, 5, 10), "5.00")  # nothing the month before
    db.session.commit()
    _run()
    assert _listed() == {world.c1.id: [["drop", 40]]}


def test_credit_use_and_overdue_rules(world):
    db.session.add_all(
        [
            CreditBalance(
                client_id=world.c1.id, outstanding=Decimal("80"), credit_limit=Decimal(100)
            ),
            CreditBalance(
                client_id=world.c2.id, outstanding=Decimal("79"), credit_limit=Decimal(100)
            ),
        ]
    )
    charge = LedgerEntry(
        client_id=world.c3.id,
        kind="charge",
        entry_date=date(2026, 4, 1),
        due_date=date(2026, 5, 1),
        amount=Decimal("50"),
        reference="B1",
    )
    db.session.add(charge)
    db.session.flush()
    db.session.add(
        OpenItem(
            entry_id=charge.id,
            client_id=world.c3.id,
            kind="charge",
            entry_date=charge.entry_date,
            due_date=charge.due_date,
            open_amount=Decimal("50"),
        )
    )
    db.session.commit()
    _run()
    assert _listed() == {world.c1.id: [["credit", 80]], world.c3.id: [["overdue", "50.00"]]}


def test_contract_ending_rule(world):
    for n, (client, ends, status) in enumerate(
        [
            (world.c1, TODAY + timedelta(days=60), "in_force"),
            (world.c2, TODAY + timedelta(days=61), "in_force"),
            (world.c3, TODAY + timedelta(days=5), "ended"),
        ]
    ):
        db.session.add(
            Contract(
                client_id=client.id,
                seq=1,
                number=f"HT{n}",
                title="供货合同",
                ends_on=ends,
                status=status,
            )
        )
    db.session.commit()
    _run()
    assert _listed() == {world.c1.id: [["contract", "2026-07-31"]]}


def test_open_complaint_rule(world):
    for client, status in ((world.c1, "open"), (world.c2, "handling"), (world.c3, "solved")):
        db.session.add(
            Complaint(
                client_id=client.id,
                channel="phone",
                category="service",
                description="上菜慢",
                status=status,
            )
        )
    db.session.commit()
    _run()
    assert _listed() == {world.c1.id: [["complaint", 1]], world.c2.id: [["complaint", 1]]}


def test_key_customers_card_expiring_rule(world):
    world.c1.weight = "key"  # a key customer by weight, level B: only the card rule
    db.session.commit()
    shop = Shop()
    for client in (world.c1, world.c2):  # c2 is no key customer
        card = shop.card_of(client)
        card.expiry_date = TODAY + timedelta(days=20)
    db.session.commit()
    _run()
    assert _listed() == {world.c1.id: [["card", "2026-06-21"]]}


def test_rules_are_settings_and_a_customer_lists_every_reason(world):
    from crm.settings import Setting

    world.c1.level = "A"
    db.session.add(
        Complaint(
            client_id=world.c1.id,
            channel="phone",
            category="service",
            description="x",
            status="open",
        )
    )
    db.session.add(Setting(key="watch_open_complaints", value=False))
    db.session.commit()
    _run()
    assert _listed() == {world.c1.id: [["level", "A"]]}
    db.session.query(Setting).delete()
    db.session.query(WatchEntry).delete()
    db.session.commit()
    _run()
    assert _listed() == {world.c1.id: [["level", "A"], ["complaint", 1]]}
    entry = db.session.scalars(select(WatchEntry)).one()
    assert watch.reasons_text(entry.reasons)


def test_a_second_run_makes_no_second_list(world):
    world.c1.level = "K"
    db.session.commit()
    assert _run()["new"] == 1
    entry = db.session.scalars(select(WatchEntry)).one()
    assert (entry.owner_id, entry.region_id) == (world.am1.id, world.east.id)
    world.c2.level = "K"
    db.session.commit()
    assert _run() == {"month": "2026-06", "new": 1, "total": 2}
    assert _run() == {"month": "2026-06", "new": 0, "total": 2}


def test_the_owner_records_what_was_done_and_it_is_audited(world):
    world.c1.level = "K"
    world.c3.level = "K"
    db.session.commit()
    _run()
    mine = db.session.scalars(select(WatchEntry).where(WatchEntry.client_id == world.c1.id)).one()
    other = db.session.scalars(select(WatchEntry).where(WatchEntry.client_id == world.c3.id)).one()
    access.set_actor(world.am1)
    try:
        with pytest.raises(DomainError):
            watch.record_action(db.session, mine, "  ")
        with pytest.raises(NotAllowed):
            watch.record_action(db.session, other, "拜访")
        watch.record_action(db.session, mine, "已上门拜访，续签意向明确")
        db.session.commit()
        seen = db.session.scalars(select(WatchEntry.client_id)).all()
    finally:
        access.set_actor(None)
    assert seen == [world.c1.id]
    assert mine.handled_at is not None and mine.handled_by_id == world.am1.id
    event = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.entity == "watch_entries", AuditEvent.action == "update"
        )
    ).one()
    assert event.actor_id == world.am1.id and "action_taken" in event.changes


def test_handled_at_marks_what_is_untouched(world):
    for c in (world.c1, world.c2):
        c.level = "K"
    db.session.commit()
    _run()
    entry = db.session.scalars(select(WatchEntry).where(WatchEntry.client_id == world.c1.id)).one()
    watch.record_action(db.session, entry, "电话回访")
    db.session.commit()
    untouched = db.session.scalars(
        select(WatchEntry.client_id).where(WatchEntry.handled_at.is_(None))
    ).all()
    assert untouched == [world.c2.id]
    assert isinstance(entry.created_at, datetime)
