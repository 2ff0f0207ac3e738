"""R12: a change in a customer's situation is registered within 5 working days of when it
happened (China's official calendar); a late one is marked, counted per account manager, and
the regional manager sees the late ones of their region."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from crm.clients import services
from crm.clients.models import SituationChange
from crm.errors import DomainError
from crm.extensions import db
from crm.timeutil import local_today
from tests.governance.test_changes import edit
from tests.intake.support import acting


def changes_of(client) -> list[SituationChange]:
    db.session.expire_all()
    return db.session.scalars(
        select(SituationChange)
        .where(SituationChange.client_id == client.id)
        .order_by(SituationChange.id)
    ).all()


def test_on_time_and_late_across_the_spring_festival_make_up_weekend(world):
    happened = date(2026, 2, 12)  # Thursday; Saturday 14th is worked, 16th-23rd are off
    with acting(world.am1):
        on_time = services.register_situation_change(
            db.session, world.c1, ["contact"], happened, today=date(2026, 2, 26)
        )
        late = services.register_situation_change(
            db.session, world.c1, ["address"], happened, today=date(2026, 2, 27)
        )
    assert on_time.due_on == date(2026, 2, 26) and not on_time.late
    assert late.due_on == date(2026, 2, 26) and late.late
    assert on_time.owner_id == world.am1.id and on_time.recorded_by_id == world.am1.id


def test_the_date_it_happened_is_bounded(world):
    today = local_today()
    with pytest.raises(DomainError):
        services.check_happened_on(today + timedelta(days=1))
    with pytest.raises(DomainError):
        services.check_happened_on(today - timedelta(days=400))
    assert services.check_happened_on(None) == today


def test_the_card_form_takes_the_date_and_a_late_change_is_marked(world, login_as):
    am = login_as(world.am1)
    long_ago = local_today() - timedelta(days=30)
    r = edit(
        am,
        world.c1,
        phone="021-11112222",
        happened_on=long_ago.isoformat(),
        change_reason="客户换了电话",
    )
    assert r.status_code == 302
    [change] = changes_of(world.c1)
    assert (change.kinds, change.happened_on, change.late) == ("contact", long_ago, True)
    # Today by default; a field outside the situation (the short name) registers nothing.
    edit(am, world.c1, street="新地址1号", change_reason="搬家")
    edit(am, world.c1, short_name="甲", change_reason="简称")
    latest = changes_of(world.c1)
    assert len(latest) == 2 and latest[1].kinds == "address" and not latest[1].late
    assert latest[1].happened_on == local_today()
    # A future date is refused on the form.
    r = edit(
        am,
        world.c1,
        level="A",
        happened_on=(local_today() + timedelta(days=2)).isoformat(),
        change_reason="升级",
    )
    assert r.status_code == 200 and len(changes_of(world.c1)) == 2


def test_a_key_person_added_or_edited_is_a_situation_change(world, login_as):
    am = login_as(world.am1)
    late_day = local_today() - timedelta(days=20)
    r = am.post(
        "/admin/keyperson/new/",
        data={
            "client": world.c1.id,
            "position": "general_manager",
            "name": "王经理",
            "happened_on": late_day.isoformat(),
        },
    )
    assert r.status_code == 302
    [change] = changes_of(world.c1)
    assert change.kinds == "key_person" and change.late


def _late(owner, client, n):
    for _ in range(n):
        db.session.add(
            SituationChange(
                client_id=client.id,
                kinds="contact",
                happened_on=date(2026, 11, 2),
                registered_on=date(2026, 11, 20),
                due_on=date(2026, 11, 9),
                late=True,
                owner_id=owner.id,
            )
        )
    db.session.commit()


def test_late_ones_are_counted_per_account_manager_within_the_reader_s_scope(world, login_as):
    _late(world.am1, world.c1, 2)
    _late(world.am2, world.c2, 1)
    _late(world.am3, world.c3, 3)
    with acting(world.rm_east):
        assert services.late_changes_per_manager(db.session) == [
            (world.am1.id, "am1", 2),
            (world.am2.id, "am2", 1),
        ]
    with acting(world.sales_manager):
        assert [n for _, _, n in services.late_changes_per_manager(db.session)] == [3, 2, 1]
    with acting(world.am2):
        assert services.late_changes_per_manager(db.session) == [(world.am2.id, "am2", 1)]

    page = login_as(world.rm_east).get("/admin/situationchange/?flt0_0=1")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert world.c1.name in text and world.c2.name in text and world.c3.name not in text
    assert 'id="late-counts"' in text and "am3" not in text.split('id="late-counts"')[1][:600]
