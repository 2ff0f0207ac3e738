"""R12: unowned customers queue for their regional manager; the suggestion balances the load;
a leaver's customers are handed over in one action."""

import pytest
from sqlalchemy import select

from crm.audit import AuditEvent
from crm.clients.models import Client
from crm.errors import DomainError, NotAllowed
from crm.extensions import db
from crm.intake import services
from crm.notifications.models import Notification
from tests import factories
from tests.intake.support import acting


@pytest.fixture
def unowned(world):
    return [
        factories.create_client(
            None, world.east, name=f"待分配{i}有限公司", phone=f"021-3333000{i}"
        )
        for i in range(2)
    ] + [
        factories.create_client(None, world.north, name="华北待分配有限公司", phone="010-33330009")
    ]


def test_the_queue_is_the_regional_manager_s_own_region(world, unowned):
    with acting(world.rm_east):
        assert [c.name for c in services.assignment_queue(db.session)] == [
            "待分配0有限公司",
            "待分配1有限公司",
        ]
    with acting(world.rm_north):
        assert [c.name for c in services.assignment_queue(db.session)] == ["华北待分配有限公司"]


def test_the_suggestion_is_the_manager_with_the_fewest_active_customers(world, unowned):
    # am1 and am2 have one customer each; a former customer does not count.
    factories.create_client(world.am1, name="甲二有限公司", phone="021-11112222")
    factories.create_client(world.am2, name="乙二有限公司", phone="021-11113333", stage="former")
    counts = [(u.username, n) for u, n in services.active_counts(db.session, world.east.id)]
    assert counts == [("am2", 1), ("am1", 2)]
    assert services.suggest_owner(db.session, world.east.id).id == world.am2.id
    factories.create_client(world.am2, name="乙三有限公司", phone="021-11114444")
    factories.create_client(world.am2, name="乙四有限公司", phone="021-11115555")
    assert services.suggest_owner(db.session, world.east.id).id == world.am1.id


def test_assignment_sets_the_owner_audits_and_tells_them(world, unowned):
    client = unowned[0]
    with acting(world.rm_east):
        services.assign_client(db.session, client, world.am2)
    db.session.commit()
    assert client.owner_id == world.am2.id
    assert db.session.scalars(
        select(Notification.kind).where(Notification.recipient_id == world.am2.id)
    ).all() == ["client_assigned"]
    assert (
        db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.client_id == client.id)
            .order_by(AuditEvent.id)
        ).all()[-1]
        == "update"
    )


@pytest.mark.parametrize("who", ["am1", "finance", "service"])
def test_only_managers_assign(world, unowned, who):
    with acting(getattr(world, who)), pytest.raises(NotAllowed):
        services.assign_client(db.session, unowned[0], world.am1)


def test_a_customer_goes_to_a_manager_of_its_region(world, unowned):
    with acting(world.sales_manager), pytest.raises(DomainError):
        services.assign_client(db.session, unowned[0], world.am3)


def test_the_regional_manager_of_another_region_cannot_assign(world, unowned):
    with acting(world.rm_north), pytest.raises(NotAllowed):
        services.assign_client(db.session, unowned[0], world.am1)


def test_queue_screen_suggests_and_assigns(world, unowned, login_as):
    rm = login_as(world.rm_east)
    page = rm.get("/admin/assignment/").get_data(as_text=True)
    assert "待分配0有限公司" in page and "华北待分配有限公司" not in page
    r = rm.post(
        "/admin/assignment/assign", data={"client_id": unowned[0].id, "owner_id": world.am1.id}
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Client, unowned[0].id).owner_id == world.am1.id
    # A customer of another region is not found at all.
    r = rm.post(
        "/admin/assignment/assign", data={"client_id": unowned[2].id, "owner_id": world.am1.id}
    )
    assert r.status_code == 404
    assert login_as(world.am1).get("/admin/assignment/").status_code == 403


def test_departure_hands_every_customer_over_in_one_action(world, login_as):
    extra = factories.create_client(world.am1, name="甲三有限公司", phone="021-22221111")
    with acting(world.sales_manager):
        handed = services.hand_over(db.session, world.am1, world.am3)
    db.session.commit()
    assert {c.id for c in handed} == {world.c1.id, extra.id}
    for client in handed:
        db.session.refresh(client)
        assert client.owner_id == world.am3.id and client.region_id == world.north.id
    assert not world.am1.active
    note = db.session.scalars(
        select(Notification).where(Notification.recipient_id == world.am3.id)
    ).one()
    assert world.c1.name in note.body and extra.name in note.body  # whom to tell
    # The new owner reads them now; the leaver's successor sees them in the list.
    page = login_as(world.am3).get("/admin/client/").get_data(as_text=True)
    assert world.c1.name in page and extra.name in page


@pytest.mark.parametrize("who", ["rm_east", "general_manager", "am1"])
def test_only_the_sales_manager_hands_over(world, who):
    with acting(getattr(world, who)), pytest.raises(NotAllowed):
        services.hand_over(db.session, world.am1, world.am2)


def test_handover_screen_lists_the_customers_to_tell(world, login_as):
    r = login_as(world.sales_manager).post(
        "/admin/handover/", data={"leaving_id": world.am2.id, "successor_id": world.am1.id}
    )
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and world.c2.name in page and world.c2.code in page


def test_a_binned_customer_moves_too_and_is_the_successor_s_once_restored(world, login_as):
    from crm.clients.services import delete_client
    from crm.governance import retention

    binned = factories.create_client(world.am1, name="甲回收站有限公司", phone="021-33334444")
    with acting(world.sales_manager):
        delete_client(db.session, binned, "客户注销")
    db.session.commit()
    request_id = retention.in_bin(db.session)[0].id
    with acting(world.sales_manager):
        handed = services.hand_over(db.session, world.am1, world.am3)
    db.session.commit()
    assert binned.id in {c.id for c in handed}
    note = db.session.scalars(
        select(Notification).where(Notification.recipient_id == world.am3.id)
    ).one()
    assert binned.name in note.body.split("\n\n")[1]  # listed apart: not one to tell now
    with acting(world.sales_manager):
        retention.restore(db.session, request_id)
    db.session.commit()
    db.session.expire_all()
    restored = db.session.get(Client, binned.id)
    assert restored.deleted_at is None
    assert restored.owner_id == world.am3.id and restored.region_id == world.north.id
    assert binned.name in login_as(world.am3).get("/admin/client/").get_data(as_text=True)
