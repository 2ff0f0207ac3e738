"""R6 deletions: a reason and the sales manager's approval; a deleted customer leaves every list,
count, export, search and task with everything under it; the sales manager restores it whole
within the retention; after it a daily task destroys it for good and records the destruction.
"""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text

from crm.access import set_actor
from crm.clients.models import Client, ContactLog, KeyPerson
from crm.extensions import db
from crm.governance import retention
from crm.governance.models import Consent, DeletionRequest, DestructionRecord
from crm.governance.services import soft_delete
from crm.tasks.governance import destroy_expired_deletions
from tests import factories

TABLES = ("clients", "key_persons", "contact_logs", "consents")


def raw_count(table: str, client_id: int) -> int:
    column = "id" if table == "clients" else "client_id"
    return db.session.execute(
        text(f"SELECT count(*) FROM {table} WHERE {column} = :c"), {"c": client_id}
    ).scalar()


def bin_requests(**where) -> list[DeletionRequest]:
    db.session.expire_all()
    stmt = select(DeletionRequest).order_by(DeletionRequest.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(DeletionRequest, key) == value)
    return db.session.scalars(stmt).all()


def with_consent(client) -> Consent:
    row = Consent(client_id=client.id, purpose="marketing", given_how="written")
    db.session.add(row)
    db.session.commit()
    return row


def delete_c2(world, login_as, reason="重复建档"):
    r = login_as(world.sales_manager).post(
        "/admin/client/delete/", data={"id": world.c2.id, "reason": reason}
    )
    assert r.status_code == 302
    [request] = bin_requests(entity="clients")
    return request


def test_a_deleted_customer_leaves_every_list_count_export_search_and_task(world, login_as):
    with_consent(world.c2)
    factories.create_key_person(world.c2, name="乙公司专属联系人")
    delete_c2(world, login_as)
    marker = world.c2.name
    for user in (world.sales_manager, world.general_manager, world.am2, world.rm_east):
        c = login_as(user)
        for path in (
            "/admin/client/",
            "/admin/client/export/csv/",
            "/admin/keyperson/",
            "/admin/contactlog/",
            "/admin/consent/",
            "/admin/marketing/",
            f"/admin/client/?search={marker}",
            "/admin/",
        ):
            r = c.get(path)
            assert r.status_code in (200, 403), path
            body = r.get_data(as_text=True).replace(f'value="{marker}"', "")  # the search box
            assert marker not in body and world.c2.code not in body, (user.username, path)
            assert "乙公司专属联系人" not in body, (user.username, path)
        assert c.get(f"/admin/client/details/?id={world.c2.id}").status_code == 404
    # The system's sweeps (tasks, reports) see none of it either, rows without a deletion
    # mark of their own (a consent) included.
    assert world.c2.id not in db.session.scalars(select(Client.id)).all()
    for model in (KeyPerson, ContactLog, Consent):
        assert world.c2.id not in db.session.scalars(select(model.client_id)).all(), model
    assert db.session.scalar(select(func.count()).select_from(Client)) == 2


def test_a_deletion_by_anyone_but_the_sales_manager_waits(world, login_as):
    gm = login_as(world.general_manager)
    r = gm.post("/admin/client/delete/", data={"id": world.c2.id, "reason": "客户注销"})
    assert r.status_code == 302
    r = gm.post(
        "/admin/client/action/", data={"action": "delete", "reason": "批量", "rowid": [world.c1.id]}
    )
    assert r.status_code == 302
    assert [x.status for x in bin_requests()] == ["pending", "pending"]
    assert raw_count("clients", world.c2.id) == 1
    db.session.expire_all()
    assert db.session.get(Client, world.c2.id).deleted_at is None
    assert login_as(world.am2).get(f"/admin/client/details/?id={world.c2.id}").status_code == 200


@pytest.mark.parametrize("user", ["am1", "rm_east"])
def test_account_and_regional_managers_only_ask_and_cannot_approve(world, login_as, user):
    """R6: they may ask to delete what is in their scope; nothing goes until the sales manager
    approves, and they cannot approve their own request."""
    c = login_as(getattr(world, user))
    c.post("/admin/client/delete/", data={"id": world.c1.id, "reason": "客户注销"})
    c.post(
        "/admin/client/action/", data={"action": "delete", "reason": "x", "rowid": [world.c3.id]}
    )  # out of everyone's scope
    asked = bin_requests()
    assert len(asked) == 1 and asked[0].status == "pending" and asked[0].deleted_at is None
    c.post("/admin/deletion_request/decide/", data={"id": asked[0].id, "decision": "approve"})
    db.session.expire_all()
    assert bin_requests()[0].status == "pending"
    assert db.session.get(Client, world.c1.id).deleted_at is None
    assert db.session.get(Client, world.c3.id).deleted_at is None


@pytest.mark.parametrize("user", ["finance", "clerk", "service"])
def test_roles_that_may_not_delete_are_refused_on_every_delete_path(world, login_as, user):
    c = login_as(getattr(world, user))
    c.post("/admin/client/delete/", data={"id": world.c1.id, "reason": "x"})
    c.post(
        "/admin/client/action/",
        data={"action": "delete", "reason": "x", "rowid": [world.c1.id, world.c2.id]},
    )
    c.post("/admin/deletion_request/decide/", data={"id": 1, "decision": "approve"})
    assert bin_requests() == []
    db.session.expire_all()
    assert db.session.get(Client, world.c1.id).deleted_at is None


def test_the_sales_manager_approves_or_rejects_a_deletion(world, login_as):
    login_as(world.general_manager).post(
        "/admin/client/delete/", data={"id": world.c2.id, "reason": "客户注销"}
    )
    login_as(world.general_manager).post(
        "/admin/keyperson/delete/", data={"id": world.c1.key_persons[0].id, "reason": "已离职"}
    )
    first, second = bin_requests()
    sm = login_as(world.sales_manager)
    assert (
        login_as(world.general_manager)
        .post("/admin/deletion_request/decide/", data={"id": first.id, "decision": "approve"})
        .status_code
        == 403
    )
    sm.post("/admin/deletion_request/decide/", data={"id": first.id, "decision": "approve"})
    sm.post(
        "/admin/deletion_request/decide/",
        data={"id": second.id, "decision": "reject", "comment": "仍在职"},
    )
    first, second = bin_requests()
    assert (first.status, second.status) == ("approved", "rejected")
    assert first.decided_by_id == world.sales_manager.id and first.deleted_at is not None
    db.session.expire_all()
    assert login_as(world.am2).get(f"/admin/client/details/?id={world.c2.id}").status_code == 404
    kp = db.session.get(KeyPerson, world.c1.key_persons[0].id)
    assert kp is not None and kp.deleted_at is None


def test_the_recycle_bin_restores_a_customer_whole_and_only_what_it_hid(world, login_as):
    early = factories.create_key_person(world.c2, name="早已删除的人")
    set_actor(world.sales_manager)
    soft_delete(db.session, [early], "早已离职")
    db.session.commit()
    set_actor(None)
    request = delete_c2(world, login_as)
    sm = login_as(world.sales_manager)
    assert world.c2.name in sm.get("/admin/recycle_bin/").get_data(as_text=True)
    assert (
        login_as(world.general_manager)
        .post("/admin/deletion_request/restore/", data={"id": request.id})
        .status_code
        == 403
    )
    sm.post("/admin/deletion_request/restore/", data={"id": request.id})
    assert bin_requests(id=request.id)[0].status == "restored"
    am2 = login_as(world.am2)
    card = am2.get(f"/admin/client/details/?id={world.c2.id}").get_data(as_text=True)
    persons = card.split('id="key-persons"')[1].split("</table>")[0]
    assert f"{world.c2.name[:2]}法人" in persons and "早已删除的人" not in persons
    assert world.c2.name not in sm.get("/admin/recycle_bin/").get_data(as_text=True)


def test_the_daily_task_destroys_what_is_past_retention_and_records_it(world, login_as):
    with_consent(world.c2)
    c2_id, c2_name, c2_code, c3_id = world.c2.id, world.c2.name, world.c2.code, world.c3.id
    request = delete_c2(world, login_as)
    login_as(world.sales_manager).post(
        "/admin/client/delete/", data={"id": world.c3.id, "reason": "近期删除"}
    )
    # The first deletion is 31 days old; the second is young.
    request = bin_requests(id=request.id)[0]
    request.deleted_at -= timedelta(days=31)
    db.session.commit()
    assert destroy_expired_deletions() == {"destroyed": 1}
    db.session.remove()
    for table in TABLES:
        assert raw_count(table, c2_id) == 0, table
    assert raw_count("clients", c3_id) == 1
    [record] = db.session.scalars(select(DestructionRecord)).all()
    assert (record.entity, record.entity_id, record.reason) == ("clients", c2_id, "重复建档")
    assert record.approved_by == "sales_manager" and record.row_count >= 4
    # Issue 16 point 8: the record names the customer by a non-personal reference only.
    assert c2_code in record.label and c2_name not in record.label
    assert [r.status for r in bin_requests()] == ["destroyed", "approved"]
    assert destroy_expired_deletions() == {"destroyed": 0}  # a second run changes nothing
    assert db.session.scalar(select(func.count()).select_from(DestructionRecord)) == 1
    gm = login_as(SimpleNamespace(username="general_manager"))
    page = gm.get("/admin/destruction/").get_data(as_text=True)
    assert c2_code in page and c2_name not in page


def test_a_deleted_contract_or_key_person_alone_is_destroyed_alone(world):
    set_actor(world.sales_manager)
    kp = world.c1.key_persons[0]
    kp_id = kp.id
    soft_delete(db.session, [kp], "录错")
    db.session.commit()
    set_actor(None)
    retention.destroy_expired(db.session, retention.utcnow() + timedelta(days=31))
    db.session.commit()
    assert (
        db.session.execute(
            text("SELECT count(*) FROM key_persons WHERE id = :i"), {"i": kp_id}
        ).scalar()
        == 0
    )
    assert raw_count("clients", world.c1.id) == 1 and raw_count("contact_logs", world.c1.id) == 1


GOVERNANCE_VIEWS = (
    "change_request",
    "deletion_request",
    "recycle_bin",
    "destruction",
    "view_grant",
    "consent",
    "marketing",
)
ROLES = (
    "am1",
    "rm_east",
    "sales_manager",
    "general_manager",
    "finance",
    "clerk",
    "archivist",
    "service",
    "admin",
)


@pytest.mark.parametrize("user", ROLES)
def test_no_governance_screen_edits_or_deletes_by_url(world, login_as, user):
    """Every governance view's edit, delete and bulk-delete path, as every role: nothing
    changes (the decisions have their own paths, tested with their rules)."""
    request = delete_c2(world, login_as)  # one row in the bin
    with_consent(world.c1)
    c = login_as(getattr(world, user))
    for view in GOVERNANCE_VIEWS:
        for pk in (request.id, 1, world.c1.id):
            c.post(
                f"/admin/{view}/edit/?id={pk}",
                data={"reason": "forged", "label": "x", "purpose": "disclosure", "name": "forged"},
            )
            c.post(f"/admin/{view}/delete/", data={"id": pk, "reason": "forged"})
            c.post(
                f"/admin/{view}/action/",
                data={"action": "delete", "rowid": [pk], "reason": "forged"},
            )
    [still] = bin_requests()
    assert (still.status, still.reason) == ("approved", "重复建档")
    db.session.expire_all()
    assert db.session.scalars(select(Consent.purpose)).all() == ["marketing"]
    assert db.session.get(Client, world.c1.id).name != "forged"
    assert db.session.get(Client, world.c1.id).deleted_at is None


def test_every_governance_screen_opens_with_data(world, login_as):
    """A pending change, a pending and a binned deletion, a pending grant and a consent: every
    list and details page renders for the managers, and the asker's screens for them."""
    login_as(world.am1).post(
        f"/admin/client/edit/?id={world.c1.id}",
        data={
            "name": world.c1.name,
            "kind": "organisation",
            "level": "A",
            "stage": "prospect",
            "nature": "ordinary",
            "weight": "general",
            "change_reason": "升级",
        },
    )
    delete_c2(world, login_as)
    login_as(world.general_manager).post(
        "/admin/client/delete/", data={"id": world.c3.id, "reason": "待批"}
    )
    login_as(world.am1).post(
        "/admin/view_grant/ask/", data={"client_code": world.c3.code, "reason": "协助"}
    )
    with_consent(world.c1)
    sm = login_as(world.sales_manager)
    for view in GOVERNANCE_VIEWS:
        r = sm.get(f"/admin/{view}/")
        assert r.status_code == 200, view
        for pk in (1, 2):
            assert sm.get(f"/admin/{view}/details/?id={pk}").status_code in (200, 302, 404)
    assert "decide-grant" in sm.get("/admin/view_grant/").get_data(as_text=True)
    assert 'id="decide-change"' in sm.get("/admin/change_request/details/?id=1").get_data(
        as_text=True
    )
    am = login_as(world.am1)
    for view in ("change_request", "view_grant", "consent", "marketing"):
        assert am.get(f"/admin/{view}/").status_code == 200, view
    assert 'id="ask-grant"' in am.get("/admin/view_grant/").get_data(as_text=True)
