"""Issue 17: the notices of a backlog of crossings (the first check after a load, a month-end)
are written set-based — a fixed number of statements whatever the number of crossings — and
still exactly once per crossing: a second check, or the set-based step run again over the same
crossings, adds nothing. The texts are those the per-event path (notify_many) writes."""

from datetime import date

from sqlalchemy import event, func, select

from crm.credit import checks as cs
from crm.credit import ledger
from crm.credit.models import Crossing
from crm.extensions import db
from crm.notifications.models import Notification, OutboxMail
from tests import factories
from tests.credit.conftest import give_profile, set_limit_unchecked


def _backlog(world, n):
    """n customers owing 950 of a 10,000 limit, their limits then cut to 1,000 where no
    check runs: the next check finds 2 crossings each (80% and 90%)."""
    made = []
    for _ in range(n):
        c = factories.create_client(world.am1)
        give_profile(c, "10000.00")
        ledger.record_charge(db.session, c.id, "950", date(2026, 11, 1), "B-1")
        db.session.commit()
        made.append(c)
    for c in made:
        set_limit_unchecked(c, "1000.00")
    return made


def _count(table):
    return db.session.scalar(select(func.count()).select_from(table))


def _statements_of_a_check():
    seen = []

    def add(*_args):
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", add)
    try:
        result = cs.check_now(db.session)
    finally:
        event.remove(db.engine, "before_cursor_execute", add)
    return result, len(seen)


def test_a_backlog_is_notified_once_in_statements_that_do_not_grow(credit_world):
    w = credit_world
    small = _backlog(w, 2)
    first, few = _statements_of_a_check()
    assert first["notified"] == 2 * len(small)
    big = _backlog(w, 12)
    second, many = _statements_of_a_check()
    assert second["notified"] == 2 * len(big)
    assert many == few  # no statement per crossing
    for c in (*small, *big):
        for t in (80, 90):
            key = f"credit:{t}:client:{c.id}:crossing:1"
            got = db.session.scalars(
                select(Notification.recipient_id).where(Notification.event_key == key)
            ).all()
            assert sorted(got) == sorted([w.rm_east.id, w.am1.id]), key
    notices, mails = _count(Notification), _count(OutboxMail)
    again, _n = _statements_of_a_check()
    assert again["notified"] == 0
    assert (_count(Notification), _count(OutboxMail)) == (notices, mails)


def test_the_set_based_step_run_again_over_the_same_crossings_adds_nothing(credit_world):
    w = credit_world
    [c] = _backlog(w, 1)
    cs.check_now(db.session)
    notices, mails = _count(Notification), _count(OutboxMail)
    for t in (80, 90):
        [crossed_at] = db.session.scalars(
            select(Crossing.crossed_at).where(Crossing.client_id == c.id, Crossing.threshold == t)
        ).all()
        cs._notify_crossings(db.session, t, crossed_at)  # a retry of the same step
        cs._notify_crossings(db.session, t, crossed_at, client_ids=[c.id])
    db.session.commit()
    assert (_count(Notification), _count(OutboxMail)) == (notices, mails)


def test_set_based_texts_match_the_per_event_path(credit_world):
    w = credit_world
    [c] = _backlog(w, 1)
    cs.check_now(db.session)
    row = db.session.execute(
        select(Notification).where(
            Notification.event_key == f"credit:90:client:{c.id}:crossing:1",
            Notification.recipient_id == w.am1.id,
        )
    ).scalar_one()
    from flask_babel import gettext as _

    assert row.title == _("Credit use of %(name)s passed %(t)s%%", name=c.name, t=90)
    assert row.body == _(
        "%(name)s (%(code)s) owes at least %(t)s%% of its credit limit.",
        name=c.name,
        code=c.code or "",
        t=90,
    )
    assert (row.kind, row.client_id, row.link_endpoint) == (
        "credit_90",
        c.id,
        "credit_profile.details_view",
    )
    mail = (
        db.session.execute(
            select(OutboxMail.to_address).where(
                OutboxMail.event_key == f"credit:90:client:{c.id}:crossing:1"
            )
        )
        .scalars()
        .all()
    )
    assert {"sales@example.com", "product@example.com"} <= set(mail)
