import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from crm.credit import checks, ledger
from crm.credit.models import CheckRun, Crossing
from crm.extensions import db
from crm.notifications.models import Notification, OutboxMail
from tests.conftest import IS_POSTGRES
from tests.credit.conftest import set_limit_unchecked


def inbox(user=None, kind=None):
    stmt = select(Notification.event_key).order_by(Notification.id)
    if user is not None:
        stmt = stmt.where(Notification.recipient_id == user.id)
    if kind is not None:
        stmt = stmt.where(Notification.kind == kind)
    return list(db.session.scalars(stmt))


def mails():
    return sorted(db.session.execute(select(OutboxMail.event_key, OutboxMail.to_address)).all())


def charge(w, amount, day=1, client=None):
    ledger.record_charge(db.session, (client or w.c1).id, amount, date(2026, 11, day), f"B-{day}")
    db.session.commit()


def pay(w, amount, day=2, client=None):
    ledger.record_payment(db.session, (client or w.c1).id, amount, date(2026, 11, day), f"R-{day}")
    db.session.commit()


def test_80_percent_notifies_the_regional_manager_and_commerce_once(credit_world):
    w = credit_world
    charge(w, "7999.99")
    assert inbox() == []
    charge(w, "0.01", 2)  # exactly 80%
    key = f"credit:80:client:{w.c1.id}:crossing:1"
    assert inbox(w.rm_east) == [key] and inbox(w.am1) == [key]
    assert inbox(w.rm_north) == [] and inbox(w.am2) == []
    assert mails() == [(key, "commerce@example.com"), (key, "rm_east@example.com")]
    charge(w, "100", 3)  # still above: no second notice
    for _ in range(2):
        checks.check_now(db.session)
    assert inbox(w.rm_east) == [key]


def test_90_percent_notifies_sales_and_product_centre(credit_world):
    w = credit_world
    charge(w, "9500", client=w.c3)  # both thresholds at once, each notified once
    k80 = f"credit:80:client:{w.c3.id}:crossing:1"
    k90 = f"credit:90:client:{w.c3.id}:crossing:1"
    assert inbox(w.rm_north) == [k80, k90]
    assert {a for k, a in mails() if k == k90} == {"sales@example.com", "product@example.com"}
    assert {a for k, a in mails() if k == k80} == {"commerce@example.com"}


def test_a_crossing_rearms_only_after_falling_below(credit_world):
    w = credit_world
    charge(w, "8500")
    pay(w, "600")  # 79%: re-armed
    charge(w, "50", 3)  # 79.5%: below, nothing
    charge(w, "100", 4)  # 80.5%: the second crossing
    assert inbox(w.rm_east) == [
        f"credit:80:client:{w.c1.id}:crossing:1",
        f"credit:80:client:{w.c1.id}:crossing:2",
    ]
    row = db.session.scalars(select(Crossing).where(Crossing.threshold == 80)).one()
    assert row.above and row.crossing_no == 2


def test_a_crossing_the_transactions_missed_is_found_by_a_check(credit_world):
    w = credit_world
    charge(w, "5000")
    set_limit_unchecked(w.c1, 6000)
    assert inbox(w.rm_east) == []
    result = checks.check_now(db.session)
    assert result["over_80"] == 1 and result["over_90"] == 0 and result["notified"] == 1
    assert inbox(w.rm_east) == [f"credit:80:client:{w.c1.id}:crossing:1"]


def test_a_check_that_dies_after_notifying_leaves_nothing_and_reruns_once(
    credit_world, monkeypatch
):
    w = credit_world
    charge(w, "5000")
    set_limit_unchecked(w.c1, 5000)

    def crash(*args, **kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(checks, "check_summary", crash)  # after the notify, before the commit
    with pytest.raises(RuntimeError):
        checks.check_now(db.session)
    assert inbox() == [] and mails() == []
    assert db.session.scalars(select(CheckRun.status)).one() == "failed"
    monkeypatch.undo()
    for _ in range(2):  # the retry, and a retry of the retry
        checks.check_now(db.session)
    assert inbox(w.rm_east) == [
        f"credit:80:client:{w.c1.id}:crossing:1",
        f"credit:90:client:{w.c1.id}:crossing:1",
    ]
    assert len(mails()) == 5  # 80: rm + commerce; 90: rm + sales + product


def test_two_checks_at_once_notify_once(credit_world, app):
    w = credit_world
    charge(w, "5000")
    set_limit_unchecked(w.c1, 6000)
    if not IS_POSTGRES:  # SQLite runs one writer at a time: the second run must add nothing
        assert len(checks.evaluate_thresholds(db.session)) == 1
        db.session.commit()
        assert checks.evaluate_thresholds(db.session) == []
        db.session.commit()
    else:
        first_marked = threading.Event()
        found, errors = {}, []

        def check(name, before=None, after=None):
            try:
                with app.app_context():
                    if before:
                        before.wait(10)
                    found[name] = checks.evaluate_thresholds(db.session)
                    if after:
                        after.set()
                        threading.Event().wait(0.3)  # hold the row locks while the other runs
                    db.session.commit()
                    db.session.remove()
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [
            threading.Thread(target=check, args=("a", None, first_marked)),
            threading.Thread(target=check, args=("b", first_marked, None)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors
        assert sorted(len(v) for v in found.values()) == [0, 1]
    assert inbox(w.rm_east) == [f"credit:80:client:{w.c1.id}:crossing:1"]
    assert db.session.scalar(select(func.count()).select_from(OutboxMail)) == 2


def test_check_result_counts_over_limit_and_overdue(credit_world):
    w = credit_world
    ledger.record_charge(db.session, w.c2.id, "9500", date(2026, 9, 1), "old")  # overdue
    ledger.record_charge(
        db.session, w.c3.id, "12000", date(2026, 11, 20), "big", override_reason="特批"
    )
    db.session.commit()
    result = checks.check_now(db.session, today=date(2026, 11, 25))
    assert (result["over_80"], result["over_90"], result["over_limit"]) == (2, 2, 1)
    assert (result["overdue_customers"], result["overdue_amount"]) == (1, "9500.00")
    run = db.session.scalars(select(CheckRun)).one()
    assert run.status == "done" and run.progress == 100 and run.result == result
