import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from crm.access import set_actor
from crm.audit import AuditEvent
from crm.credit import ledger
from crm.credit.models import Allocation, CreditBalance, LedgerEntry, OpenItem
from crm.errors import DomainError, NotAllowed
from crm.extensions import db
from tests.conftest import IS_POSTGRES
from tests.credit.conftest import TODAY

D = Decimal


def open_items(client):
    return dict(
        db.session.execute(
            select(OpenItem.entry_id, OpenItem.open_amount).where(OpenItem.client_id == client.id)
        ).all()
    )


def test_payments_go_to_the_oldest_open_charges(credit_world):
    c = credit_world.c1
    a = ledger.record_charge(db.session, c.id, "1000", date(2026, 9, 1), "B-1")
    b = ledger.record_charge(db.session, c.id, "2000", date(2026, 10, 1), "B-2")
    d = ledger.record_charge(db.session, c.id, "500", date(2026, 11, 1), "B-3")
    p = ledger.record_payment(db.session, c.id, "2500", date(2026, 11, 10), "R-1")
    db.session.commit()
    assert open_items(c) == {b.id: D("500.00"), d.id: D("500.00")}
    pairs = db.session.execute(
        select(Allocation.charge_id, Allocation.amount)
        .where(Allocation.payment_id == p.id)
        .order_by(Allocation.id)
    ).all()
    assert pairs == [(a.id, D("1000.00")), (b.id, D("1500.00"))]
    figures = ledger.client_credit(db.session, c.id, TODAY)
    assert figures["outstanding"] == D("1000.00")
    assert figures["utilisation"] == D("10.00")


def test_aging_and_overdue_on_a_known_ledger(credit_world):
    c = credit_world.c1  # 30 days' credit
    ledger.record_charge(db.session, c.id, "100", date(2026, 7, 1), "old")  # due 7-31: 117 days
    ledger.record_charge(db.session, c.id, "200", date(2026, 9, 1), "sep")  # due 10-1: 55 days
    ledger.record_charge(db.session, c.id, "300", date(2026, 10, 10), "oct")  # due 11-9: 16 days
    ledger.record_charge(db.session, c.id, "400", date(2026, 11, 20), "nov")  # due 12-20: not due
    ledger.record_payment(db.session, c.id, "150", date(2026, 11, 21), "pay")  # old, half of sep
    db.session.commit()
    figures = ledger.client_credit(db.session, c.id, TODAY)
    assert figures["aging"] == {
        "not_due": D("400.00"),
        "d1_30": D("300.00"),
        "d31_60": D("150.00"),
        "d61_90": D("0.00"),
        "d90_plus": D("0.00"),
    }
    assert figures["overdue"] == D("450.00")
    [row] = ledger.aging_report(db.session, "client", TODAY)
    assert (row["not_due"], row["d1_30"], row["d31_60"], row["total"]) == (
        D("400.00"),
        D("300.00"),
        D("150.00"),
        D("850.00"),
    )
    by_owner = ledger.aging_report(db.session, "owner", TODAY)
    assert [(r["label"], r["total"]) for r in by_owner] == [("am1", D("850.00"))]
    by_region = ledger.aging_report(db.session, "region", TODAY)
    assert [(r["label"], r["total"]) for r in by_region] == [("华东大区", D("850.00"))]


def test_an_overpayment_waits_for_the_next_charge(credit_world):
    c = credit_world.c2
    ledger.record_payment(db.session, c.id, "300", date(2026, 11, 1), "prepaid")
    charge = ledger.record_charge(db.session, c.id, "500", date(2026, 11, 2), "B")
    db.session.commit()
    assert open_items(c) == {charge.id: D("200.00")}
    assert ledger.client_credit(db.session, c.id, TODAY)["outstanding"] == D("200.00")


def test_reversing_a_paid_charge_moves_its_payment_to_the_next_charge(credit_world):
    c = credit_world.c1
    first = ledger.record_charge(db.session, c.id, "400", date(2026, 10, 1), "B-1")
    second = ledger.record_charge(db.session, c.id, "600", date(2026, 10, 5), "B-2")
    ledger.record_payment(db.session, c.id, "400", date(2026, 10, 20), "R-1")
    ledger.reverse_entry(db.session, first.id, "billed twice", date(2026, 10, 21))
    db.session.commit()
    assert open_items(c) == {second.id: D("200.00")}
    assert ledger.client_credit(db.session, c.id, TODAY)["outstanding"] == D("200.00")
    with pytest.raises(DomainError):
        ledger.reverse_entry(db.session, first.id, "again")
    assert ledger.reconcile_balances(db.session) == []


def test_reversing_a_payment_reopens_what_it_paid(credit_world):
    c = credit_world.c1
    charge = ledger.record_charge(db.session, c.id, "400", date(2026, 10, 1), "B-1")
    pay = ledger.record_payment(db.session, c.id, "400", date(2026, 10, 20), "R-1")
    assert open_items(c) == {}
    ledger.reverse_entry(db.session, pay.id, "cheque bounced", date(2026, 10, 22))
    db.session.commit()
    assert open_items(c) == {charge.id: D("400.00")}
    assert ledger.client_credit(db.session, c.id, TODAY)["overdue"] == D("400.00")
    assert ledger.reconcile_balances(db.session) == []


def test_a_ledger_row_is_never_edited_or_deleted(credit_world):
    entry = ledger.record_charge(db.session, credit_world.c1.id, "10", date(2026, 11, 1), "B")
    db.session.commit()
    entry.amount = D("1")
    with pytest.raises(DomainError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(LedgerEntry, entry.id))
    with pytest.raises(DomainError):
        db.session.flush()
    db.session.rollback()
    audited = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.entity == "ledger_entries", AuditEvent.entity_id == entry.id)
    )
    assert audited == 1


def test_a_charge_over_the_limit_is_refused(credit_world):
    c = credit_world.c1  # limit 10,000
    ledger.record_charge(db.session, c.id, "9000", date(2026, 11, 1), "B-1")
    db.session.commit()
    with pytest.raises(DomainError, match="10000.01"):  # what would be owed, in the message
        ledger.record_charge(db.session, c.id, "1000.01", date(2026, 11, 2), "B-2")
    db.session.rollback()
    ledger.record_charge(db.session, c.id, "1000.00", date(2026, 11, 2), "B-3")  # exactly the limit
    db.session.commit()
    assert ledger.client_credit(db.session, c.id, TODAY)["outstanding"] == D("10000.00")


def test_a_customer_without_credit_cannot_sign(world):
    with pytest.raises(DomainError) as refused:
        ledger.record_charge(db.session, world.c1.id, "1", date(2026, 11, 1), "B")
    assert refused.value.field_errors.keys() == {"amount"}


def test_a_manager_may_override_the_limit_with_a_reason(credit_world):
    c = credit_world.c1
    set_actor(credit_world.finance)
    ledger.record_charge(db.session, c.id, "9500", date(2026, 11, 1), "B-1")
    db.session.commit()
    with pytest.raises(NotAllowed):  # finance records, but may not override
        ledger.record_charge(
            db.session, c.id, "1000", date(2026, 11, 2), "B-2", override_reason="大客户"
        )
    db.session.rollback()
    set_actor(credit_world.sales_manager)
    entry = ledger.record_charge(
        db.session,
        c.id,
        "1000",
        date(2026, 11, 2),
        "B-2",
        override_reason="年底大单，已电话确认回款计划",
    )
    db.session.commit()
    assert entry.override_by_id == credit_world.sales_manager.id
    assert entry.override_reason == "年底大单，已电话确认回款计划"
    assert ledger.client_credit(db.session, c.id, TODAY)["outstanding"] == D("10500.00")


def test_who_may_record_what(credit_world):
    set_actor(credit_world.am1)
    ledger.record_charge(db.session, credit_world.c1.id, "100", date(2026, 11, 1), "B")
    with pytest.raises(NotAllowed):  # another account manager's customer
        ledger.record_charge(db.session, credit_world.c2.id, "100", date(2026, 11, 1), "B")
    with pytest.raises(NotAllowed):  # payments are finance's
        ledger.record_payment(db.session, credit_world.c1.id, "100", date(2026, 11, 1), "R")
    set_actor(credit_world.finance)
    ledger.record_payment(db.session, credit_world.c3.id, "100", date(2026, 11, 1), "R")
    db.session.commit()


def test_a_deferral_moves_the_due_date_not_the_ledger(credit_world):
    c = credit_world.c1
    charge = ledger.record_charge(db.session, c.id, "300", date(2026, 10, 1), "B")  # due 10-31
    set_actor(credit_world.rm_east)
    ledger.defer_charge(db.session, charge.id, date(2026, 12, 15), "客户资金周转，同意延期")
    db.session.commit()
    assert ledger.client_credit(db.session, c.id, TODAY)["overdue"] == D("0.00")
    assert db.session.get(LedgerEntry, charge.id).due_date == date(2026, 10, 31)


def test_reconciliation_reports_a_balance_that_drifted(credit_world):
    ledger.record_charge(db.session, credit_world.c1.id, "100", date(2026, 11, 1), "B")
    db.session.commit()
    db.session.execute(update(CreditBalance).values(outstanding=D("90")))
    assert ledger.reconcile_balances(db.session) == [(credit_world.c1.id, D("90.00"), D("100.00"))]


@pytest.mark.skipif(not IS_POSTGRES, reason="SQLite has one writer; nothing to race")
def test_two_charges_at_once_cannot_both_pass_the_limit(credit_world, app):
    client_id = credit_world.c1.id  # fixtures belong to this thread's session
    ledger.record_charge(db.session, client_id, "1000", date(2026, 10, 1), "B-0")  # balance row
    db.session.commit()
    barrier, outcomes = threading.Barrier(2), []

    def sign(reference):
        with app.app_context():
            barrier.wait(10)
            try:
                ledger.record_charge(db.session, client_id, "5000", date(2026, 11, 1), reference)
                db.session.commit()
                outcomes.append("signed")
            except DomainError:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=sign, args=(f"B-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["refused", "signed"]
    assert ledger.client_credit(db.session, client_id)["outstanding"] == D("6000.00")
