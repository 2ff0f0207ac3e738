"""The credit checks ask for their own permission (issue 18), as record_charge does: the
"check" action of ACTIONS["credit"] (finance and the managers), SYSTEM allowed. A refused
actor changes nothing: no run, no crossing marked, no notice, a queued run left queued."""

from datetime import date

import pytest
from flask import g
from sqlalchemy import func, select

from crm import access
from crm.access import set_actor
from crm.credit import checks, ledger
from crm.credit.models import CheckRun, Crossing
from crm.errors import NotAllowed
from crm.extensions import db
from crm.notifications.models import Notification
from tests.credit.conftest import set_limit_unchecked

REFUSED = sorted(set(access.ROLES) - set(access.ACTIONS["credit"]["check"]))


def _state() -> tuple:
    count = func.count()
    return (
        db.session.scalar(select(count).select_from(CheckRun)),
        db.session.scalar(select(count).select_from(Crossing)),
        db.session.scalar(select(count).select_from(Notification)),
        tuple(
            db.session.execute(
                select(CheckRun.id, CheckRun.status, CheckRun.claim).order_by(CheckRun.id)
            ).all()
        ),
    )


@pytest.fixture
def waiting(credit_world):
    """Customer 1 owes 85% of a limit lowered behind the check's back, and a queued run of all
    customers waits (as the screen leaves it for the worker): a check would mark and notify."""
    w = credit_world
    ledger.record_charge(db.session, w.c1.id, "8500", date(2026, 11, 1), "B-1")
    db.session.commit()
    db.session.execute(Crossing.__table__.delete())
    db.session.execute(Notification.__table__.delete())
    db.session.commit()
    set_limit_unchecked(w.c1, "10000.00")
    w.run = checks.start_check(db.session)  # as the system
    db.session.commit()
    yield w
    g.pop("crm_actor", None)


def _user(world, role):
    return {access.ACCOUNT_MANAGER: world.am1, access.REGIONAL_MANAGER: world.rm_east}.get(
        role
    ) or getattr(world, role)


def test_the_refused_roles_are_the_ones_the_table_leaves_out():
    assert REFUSED and access.FINANCE not in REFUSED and access.SALES_MANAGER not in REFUSED
    assert access.ACCOUNT_MANAGER in REFUSED and access.CLERK in REFUSED


@pytest.mark.parametrize("role", REFUSED)
def test_a_role_without_the_right_is_refused_and_nothing_changes(waiting, role):
    w = waiting
    before = _state()
    set_actor(_user(w, role))
    calls = {
        "start_check (all)": lambda: checks.start_check(db.session, None, _user(w, role)),
        "start_check (one)": lambda: checks.start_check(db.session, [w.c1.id]),
        "check_now": lambda: checks.check_now(db.session, [w.c1.id]),
        "check_now (all)": lambda: checks.check_now(db.session),
        "run_check": lambda: checks.run_check(db.session, w.run.id),
        "resume_check": lambda: checks.resume_check(db.session, w.run.id),
    }
    for name, call in calls.items():
        with pytest.raises(NotAllowed):
            call()
        db.session.rollback()
        assert _state() == before, name
    g.pop("crm_actor", None)
    assert db.session.get(CheckRun, w.run.id).status == "queued"


def test_finance_may_check_and_the_system_may_run_the_queued_run(waiting):
    w = waiting
    set_actor(w.finance)
    result = checks.check_now(db.session, [w.c1.id])
    assert result["over_80"] == 1
    assert db.session.scalar(select(func.count()).select_from(Crossing)) == 1
    g.pop("crm_actor", None)  # the worker: the system
    checks.run_check(db.session, w.run.id)
    assert db.session.get(CheckRun, w.run.id).status == "done"
