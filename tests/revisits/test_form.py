"""The revisit form records the visit and updates the card; scope holds on every path."""

from datetime import date

import pytest
from sqlalchemy import select

from crm.clients.models import Client, ContactLog
from crm.errors import NotAllowed
from crm.extensions import db
from crm.revisits import services
from crm.revisits.models import Revisit
from tests.intake.support import acting


@pytest.fixture
def revisit(world):
    row = Revisit(client_id=world.c1.id, due_date=date(2026, 11, 25), assignee_id=world.am1.id)
    db.session.add(row)
    db.session.commit()
    return row


def form(**overrides):
    data = {
        "done_on": "2026-11-25",
        "way": "phone",
        "person_met": "张总",
        "satisfaction": "satisfied",
        "notes": "回访：对交货满意",
    }
    data.update(overrides)
    return data


def test_recording_updates_the_revisit_the_card_and_the_log(world, revisit, login_as):
    r = login_as(world.am1).post(f"/admin/revisit/edit/?id={revisit.id}", data=form())
    assert r.status_code == 302
    db.session.expire_all()
    row = db.session.get(Revisit, revisit.id)
    assert (row.status, row.done_on, row.person_met) == ("done", date(2026, 11, 25), "张总")
    assert db.session.get(Client, world.c1.id).satisfaction == "satisfied"
    log = db.session.scalars(
        select(ContactLog)
        .where(ContactLog.client_id == world.c1.id)
        .order_by(ContactLog.seq.desc())
    ).first()
    assert (log.way, log.person_met, log.record) == ("phone", "张总", "回访：对交货满意")


def test_customer_service_records_any_customer_s_revisit(world, revisit, login_as):
    r = login_as(world.service).post(f"/admin/revisit/edit/?id={revisit.id}", data=form())
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Revisit, revisit.id).status == "done"
    assert db.session.get(Client, world.c1.id).satisfaction == "satisfied"


def test_the_person_met_is_required(world, revisit):
    with acting(world.am1), pytest.raises(Exception):  # noqa: B017 - DomainError
        services.record_revisit(db.session, revisit, date(2026, 11, 25), "visit", "")


@pytest.mark.parametrize("who", ["am2", "rm_north", "finance"])
def test_others_cannot_see_or_record_it(world, revisit, login_as, who):
    user = getattr(world, who)
    c = login_as(user)
    assert c.get(f"/admin/revisit/edit/?id={revisit.id}").status_code in (403, 404)
    assert c.post(f"/admin/revisit/edit/?id={revisit.id}", data=form()).status_code in (403, 404)
    if who != "finance":
        assert world.c1.name not in c.get("/admin/revisit/").get_data(as_text=True)
    with acting(user), pytest.raises(NotAllowed):
        services.record_revisit(db.session, revisit, date(2026, 11, 25), "visit", "张总")
    db.session.expire_all()
    assert db.session.get(Revisit, revisit.id).status == "open"
