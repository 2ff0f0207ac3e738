"""Issue 13, background work that recovers by itself: a check of all customers goes on from its
last committed chunk, counts every notice across its attempts, holds a lock while it is live,
shows as stalled when its worker died, and a failure to queue it leaves no run behind."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from crm.credit import checks, ledger
from crm.credit.models import CheckRun
from crm.errors import DomainError
from crm.extensions import db
from crm.notifications.models import Notification
from crm.timeutil import utcnow

from .conftest import set_limit_unchecked


@pytest.fixture
def over_90(credit_world):
    """Three customers each at 91% of a limit lowered behind the check's back: six crossings
    (80% and 90%) for the next check to find."""
    w = credit_world
    for c in (w.c1, w.c2, w.c3):
        ledger.record_charge(db.session, c.id, "5000", date(2026, 11, 1), f"B{c.id}")
        db.session.commit()
        set_limit_unchecked(c, "5500")
    return w


def _crossing_notices() -> list[str]:
    return db.session.scalars(
        select(Notification.event_key).where(Notification.event_key.like("credit:%"))
    ).all()


def test_a_failed_run_resumes_from_its_last_chunk_and_counts_every_notice(over_90, monkeypatch):
    real = checks.evaluate_thresholds
    calls = []

    def dies_on_the_second_chunk(session, **kw):
        calls.append(kw["id_range"])
        if len(calls) == 2:
            raise RuntimeError("worker lost its database")
        return real(session, **kw)

    monkeypatch.setattr(checks, "evaluate_thresholds", dies_on_the_second_chunk)
    run = checks.start_check(db.session)
    db.session.commit()
    ids = sorted(c.id for c in (over_90.c1, over_90.c2, over_90.c3))
    with pytest.raises(RuntimeError):
        checks.run_check(db.session, run.id, chunk=ids[1] - ids[0])
    db.session.expire_all()
    failed = db.session.get(CheckRun, run.id)
    assert (failed.status, failed.notified, failed.live_lock) == ("failed", 2, None)
    first_notices = len(_crossing_notices())

    monkeypatch.setattr(checks, "evaluate_thresholds", real)
    checks.resume_check(db.session, run.id)
    db.session.commit()
    calls.clear()
    monkeypatch.setattr(
        checks,
        "evaluate_thresholds",
        lambda session, **kw: calls.append(kw["id_range"]) or real(session, **kw),
    )
    result = checks.run_check(db.session, run.id, chunk=ids[1] - ids[0])
    # The committed first chunk is not checked again; the totals hold both attempts' notices.
    assert calls[0][0] == ids[1]
    assert result["notified"] == 6 and result["over_90"] == 3 and result["customers"] == 3
    done = db.session.get(CheckRun, run.id)
    assert (done.status, done.progress, done.attempts, done.live_lock) == ("done", 100, 2, None)
    keys = _crossing_notices()
    assert first_notices > 0 and len(keys) > first_notices
    assert len(set(keys)) == 6  # each of the six crossings, each told once (unique per person)


def test_a_second_delivery_of_a_live_or_done_run_does_nothing(over_90):
    run = checks.start_check(db.session)
    db.session.commit()
    first = checks.run_check(db.session, run.id)
    again = checks.run_check(db.session, run.id)
    assert first["notified"] == 6 and again["skipped"] == "done"
    assert db.session.get(CheckRun, run.id).attempts == 1


def test_a_second_check_of_all_customers_cannot_start_while_one_is_live(
    over_90, login_as, monkeypatch
):
    queued = []
    monkeypatch.setattr("crm.tasks.credit.run_check.delay", queued.append)
    finance = login_as(over_90.finance)
    finance.post("/admin/credit_check/start")
    page = finance.post("/admin/credit_check/start", follow_redirects=True)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "已有一次全部客户的信用检查" in text
    assert 'id="check-all" type="submit" disabled' in text
    assert db.session.scalar(select(func.count()).where(CheckRun.scope == "all")) == 1
    with pytest.raises(DomainError):
        checks.start_check(db.session)
    db.session.rollback()
    # A selected customers' check is not the run of all customers: it runs meanwhile.
    assert checks.check_now(db.session, [over_90.c1.id])["customers"] == 1
    from crm.tasks.credit import run_check

    run_check(queued[0])
    finance.post("/admin/credit_check/start")
    assert len(queued) == 2


def test_a_stale_run_shows_as_stalled_and_resumes(over_90, login_as, monkeypatch, app):
    run = checks.start_check(db.session)
    db.session.commit()
    # What a worker killed whole leaves: running at 40%, its last chunk long ago.
    old = utcnow() - timedelta(minutes=app.config["TASK_STALE_MINUTES"] + 1)
    run.status, run.progress, run.heartbeat_at, run.claim = "running", 40, old, "dead-worker"
    db.session.commit()
    finance = login_as(over_90.finance)
    text = finance.get("/admin/credit_check/").get_data(as_text=True)
    assert "已停滞" in text and "resume-run" in text
    assert 'id="check-all" type="submit" disabled' in text
    assert 'http-equiv="refresh"' not in text
    queued = []
    monkeypatch.setattr("crm.tasks.credit.run_check.delay", queued.append)
    finance.post("/admin/credit_check/resume", data={"run_id": run.id})
    assert queued == [run.id]
    db.session.expire_all()
    assert db.session.get(CheckRun, run.id).status == "queued"
    from crm.tasks.credit import run_check

    assert run_check(run.id)["notified"] == 6
    text = finance.get("/admin/credit_check/").get_data(as_text=True)
    assert "已停滞" not in text and 'id="check-all" type="submit">' in text


def test_a_live_run_that_is_not_stale_cannot_be_resumed(over_90, login_as):
    run = checks.start_check(db.session)
    db.session.commit()
    page = login_as(over_90.finance).post(
        "/admin/credit_check/resume", data={"run_id": run.id}, follow_redirects=True
    )
    assert "只有停滞或失败的检查可以继续" in page.get_data(as_text=True)
    assert db.session.get(CheckRun, run.id).status == "queued"


def test_enqueue_failure_of_any_kind_is_a_message_and_leaves_no_run(over_90, login_as, monkeypatch):
    def backend_down(*a, **kw):
        raise RuntimeError("Retry limit exceeded while trying to reconnect to the result store")

    monkeypatch.setattr("crm.tasks.credit.run_check.delay", backend_down)
    page = login_as(over_90.finance).post("/admin/credit_check/start", follow_redirects=True)
    assert page.status_code == 200 and "任务队列无法连接" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).where(CheckRun.scope == "all")) == 0
    assert checks.live_check(db.session) is None
