"""The fault suite (issue 13, `pytest -m faults`): real worker processes on a Redis of the
suite's own, against the session's PostgreSQL; each test kills, stops or refuses something and
proves the work recovers by itself. Test (d) runs on every database."""

import time
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from crm import create_app
from crm.cards.models import CardEvent, MemberCard
from crm.credit import checks, ledger
from crm.credit.models import CheckRun, CreditBalance, CreditProfile
from crm.extensions import db
from crm.governance.models import TaskRun
from crm.notifications.models import Notification, OutboxMail
from tests import factories
from tests.cards.conftest import cards  # noqa: F401  (the fixture)
from tests.cards.test_daily import TODAY, card_expiring

from .conftest import free_port, wait_for

pytestmark = pytest.mark.faults

RUN_CHECK = "crm.tasks.credit.run_check"


def _customers_over_90(world, n: int) -> list[int]:
    """n customers at 91% of a limit lowered behind the check's back: 2n crossings (80, 90)."""
    ids = []
    for i in range(n):
        client = factories.create_client(world.am1 if i % 2 else world.am2)
        db.session.add(
            CreditProfile(
                client_id=client.id, grade="A", credit_limit=Decimal("10000"), period_days=30
            )
        )
        db.session.execute(
            update(CreditBalance)
            .where(CreditBalance.client_id == client.id)
            .values(credit_limit=Decimal("10000"))
        )
        db.session.commit()
        ledger.record_charge(db.session, client.id, "5000", date(2026, 11, 1), f"B{i}")
        db.session.commit()
        for model in (CreditProfile, CreditBalance):
            db.session.execute(
                update(model)
                .where(model.client_id == client.id)
                .values(credit_limit=Decimal("5500"))
            )
        db.session.commit()
        ids.append(client.id)
    return ids


def _run(run_id) -> CheckRun:
    db.session.expire_all()
    return db.session.get(CheckRun, run_id)


def _start_run() -> int:
    run = checks.start_check(db.session)
    db.session.commit()
    return run.id


def _assert_every_crossing_told_once(ids):
    keys = db.session.execute(
        select(Notification.event_key, Notification.recipient_id).where(
            Notification.event_key.like("credit:%")
        )
    ).all()
    assert len(keys) == len(set(keys))
    crossings = {k for k, _u in keys}
    assert crossings == {f"credit:{t}:client:{cid}:crossing:1" for cid in ids for t in (80, 90)}
    mails = db.session.execute(
        select(OutboxMail.event_key, OutboxMail.to_address).where(
            OutboxMail.event_key.like("credit:%")
        )
    ).all()
    assert len(mails) == len(set(mails))


def _log_tail(proc) -> str:
    return proc.log_path.read_text(errors="replace")[-4000:]


def test_a_worker_killed_whole_mid_check_is_redelivered_and_the_run_completes(world, fault_env):
    server, workers, sender = fault_env
    ids = _customers_over_90(world, 24)
    run_id = _start_run()
    first = workers.start("first", chunk_pause=0.3)
    sender.send_task(RUN_CHECK, args=[run_id])
    wait_for(lambda: _run(run_id).progress >= 25, 60, "the check to pass 25%")
    workers.kill_whole(first)
    killed = _run(run_id)
    assert killed.status == "running" and 0 < killed.progress < 100

    # A worker started again takes the unacknowledged task back after the visibility timeout
    # and goes on from the last committed chunk once the dead claim is stale. kombu restores
    # unacknowledged messages on its own schedule, seen here up to ~90 s after the restart.
    second = workers.start("second", chunk_pause=0.05)
    done = wait_for(
        lambda: _run(run_id).status == "done" and _run(run_id),
        240,
        "the run to complete after the restart",
    )
    assert done.attempts == 2 and done.progress == 100 and done.live_lock is None, _log_tail(second)
    assert done.result["notified"] == 2 * len(ids) and done.result["over_90"] == len(ids)
    _assert_every_crossing_told_once(ids)
    assert ledger.reconcile_balances(db.session) == []


def test_redis_stopped_for_20_seconds_mid_check_the_worker_survives(world, fault_env):
    server, workers, sender = fault_env
    ids = _customers_over_90(world, 20)
    run_id = _start_run()
    worker = workers.start("survivor", chunk_pause=1.5)
    sender.send_task(RUN_CHECK, args=[run_id])
    wait_for(lambda: _run(run_id).progress >= 5, 60, "the check to be under way")
    server.stop()
    try:
        for _ in range(20):  # the worker must not die of the outage at any moment of it
            assert worker.poll() is None, _log_tail(worker)
            time.sleep(1)
    finally:
        server.start()
    done = wait_for(
        lambda: _run(run_id).status == "done" and _run(run_id),
        90,
        "the run to complete after the outage",
    )
    assert done.result["notified"] == 2 * len(ids)
    _assert_every_crossing_told_once(ids)
    # Alive, and consuming again: a new task sent after the outage is done by the same worker.
    sender.send_task("crm.tasks.maintenance.heartbeat")
    wait_for(
        lambda: db.session.expire_all() or db.session.get(TaskRun, "heartbeat"),
        60,
        "a task sent after the outage to run",
    )
    log = _log_tail(worker)
    assert worker.poll() is None and "Unrecoverable error" not in log, log


def test_two_workers_and_every_run_sent_twice_notify_once(cards, fault_env):  # noqa: F811
    server, workers, sender = fault_env
    w = cards.world
    ids = _customers_over_90(w, 6)
    due = [
        card_expiring(cards, w.am1, 30),
        card_expiring(cards, w.am2, 7),
        card_expiring(cards, w.am1, -1),
    ]
    run_id = _start_run()
    workers.start("one")
    workers.start("two")
    card_runs = []
    for _ in range(2):
        sender.send_task(RUN_CHECK, args=[run_id])
        card_runs.append(sender.send_task("crm.tasks.cards.daily", args=[TODAY.isoformat()]))
    wait_for(lambda: _run(run_id).status == "done", 60, "the check to complete")
    # Each card run either ran (and found nothing left the second time) or, when the two met,
    # was skipped by the task's lock (None); only those that ran are recorded.
    outcomes = [r.get(timeout=60) for r in card_runs]
    assert outcomes[0] is not None or outcomes[1] is not None
    db.session.expire_all()
    assert db.session.get(TaskRun, "cards_daily").runs == len([o for o in outcomes if o])
    _assert_every_crossing_told_once(ids)
    assert _run(run_id).result["notified"] == 2 * len(ids)
    reminders = db.session.scalars(
        select(Notification.event_key).where(Notification.event_key.like("card:%"))
    ).all()
    assert sorted(set(reminders)) == sorted(
        f"card:{c.id}:expiry:{c.expiry_date}:{d}" for c, d in ((due[0], 30), (due[1], 7))
    )
    users = db.session.execute(
        select(Notification.event_key, Notification.recipient_id).where(
            Notification.event_key.like("card:%")
        )
    ).all()
    assert len(users) == len(set(users))
    expiries = db.session.scalars(select(CardEvent.card_id).where(CardEvent.kind == "expire"))
    assert list(expiries) == [due[2].id]
    assert db.session.get(MemberCard, due[2].id).status == "expired"


def test_starting_a_check_with_the_broker_down_is_a_message_and_no_run(app, world):
    """Runs on SQLite too: the broker and the result backend are a Redis port nobody listens
    on, as when Redis is down."""
    port = free_port()
    down = create_app(
        {
            **app.config,
            "BROKER_URL": f"redis://127.0.0.1:{port}/0",
            "RESULT_BACKEND": f"redis://127.0.0.1:{port}/1",
        }
    )
    try:
        client = down.test_client()
        assert (
            client.post(
                "/login", data={"username": world.finance.username, "password": factories.PASSWORD}
            ).status_code
            == 302
        )
        began = time.monotonic()
        page = client.post("/admin/credit_check/start", follow_redirects=True)
        assert time.monotonic() - began < 30
        assert page.status_code == 200
        assert "任务队列无法连接，检查没有开始" in page.get_data(as_text=True)
        with down.app_context():
            assert db.session.scalar(select(func.count()).select_from(CheckRun)) == 0
    finally:
        down.extensions["celery"].close()
        app.extensions["celery"].set_current()
        app.extensions["celery"].set_default()
