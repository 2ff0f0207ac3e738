"""The audit trail (RULES R6, R17; DESIGN "every mutating domain function writes an audit
event in the same transaction"): whoever changes a card, a key person or a contact log — a user
in the admin, a CLI command, a service called as the system — leaves one event per record with
the actor, the record, per-field old and new values (sensitive ones masked) and the reason.
"""

import json
from datetime import date

import pytest
from sqlalchemy import select, text

from crm.access import set_actor
from crm.audit import MASK, AuditEvent
from crm.auth.models import User
from crm.clients import services
from crm.clients.models import Client, ContactLog, KeyPerson
from crm.errors import DomainError, NotAllowed
from crm.extensions import db
from crm.governance.models import ChangeRequest
from crm.governance.services import soft_delete
from tests import factories

ID_NUMBER = factories.valid_id_number(date(1979, 3, 8), 457)


def events(**where) -> list[AuditEvent]:
    db.session.expire_all()
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, key) == value)
    return db.session.scalars(stmt).all()


def last_id() -> int:
    return db.session.execute(select(AuditEvent.id).order_by(AuditEvent.id.desc())).scalar() or 0


def since(mark: int, **where) -> list[AuditEvent]:
    return [e for e in events(**where) if e.id > mark]


def audit_dump() -> str:
    """Every audit row, every column, as text: what someone reading the table would see."""
    rows = db.session.execute(text("SELECT * FROM audit_events")).all()
    return json.dumps([list(map(str, row)) for row in rows], ensure_ascii=False)


def unscoped(model, pk):
    return db.session.execute(
        select(model)
        .where(model.id == pk)
        .execution_options(crm_unscoped=True, crm_include_deleted=True, populate_existing=True)
    ).scalar_one()


def assert_no_plain_id_number(*numbers: str) -> None:
    dump = audit_dump()
    for number in numbers:
        assert number not in dump and number.lower() not in dump


# --- through the admin ------------------------------------------------------------------------


def test_admin_create_edit_and_delete_of_a_card_are_each_recorded(world, login_as):
    am = login_as(world.am1)
    mark = last_id()
    r = am.post(
        "/admin/client/new/",
        data={
            "name": "审计个人客户",
            "kind": "individual",
            "level": "C",
            "stage": "prospect",
            "nature": "individual",
            "weight": "general",
            "mobile": "13900001111",
            "id_number": ID_NUMBER,
        },
    )
    assert r.status_code == 302
    client = db.session.execute(
        select(Client).where(Client.name == "审计个人客户").execution_options(crm_unscoped=True)
    ).scalar_one()
    [created] = since(mark)
    assert (created.action, created.entity, created.entity_id, created.client_id) == (
        "create",
        "clients",
        client.id,
        client.id,
    )
    assert (created.actor_id, created.actor_label) == (world.am1.id, "am1")
    assert created.changes["name"] == [None, "审计个人客户"]
    assert created.changes["code"] == [None, client.code]
    assert created.changes["owner_id"] == [None, world.am1.id]
    assert created.changes["id_number_enc"] == [None, MASK]
    assert created.changes["id_number_hash"] == [None, MASK]
    assert created.reason is None

    # An edit records only what changed, old and new, with the reason given on the form.
    mark = last_id()
    r = am.post(
        f"/admin/client/edit/?id={client.id}",
        data={
            "name": "审计个人客户",
            "kind": "individual",
            "level": "A",
            "stage": "prospect",
            "nature": "individual",
            "weight": "general",
            "mobile": "13900002222",
            "change_reason": "客户换了手机号",
        },
    )
    assert r.status_code == 302
    # R6 (issue 7): an account manager's change waits for approval, and is recorded when the
    # sales manager's approval applies it.
    assert since(mark) == []
    [request] = db.session.scalars(select(ChangeRequest)).all()
    login_as(world.sales_manager).post(
        "/admin/change_request/decide/", data={"id": request.id, "decision": "approve"}
    )
    [changed] = [e for e in since(mark) if e.action != "login"]
    assert (changed.action, changed.entity_id, changed.actor_id) == (
        "update",
        client.id,
        world.sales_manager.id,
    )
    assert changed.changes == {"level": ["C", "A"], "mobile": ["13900001111", "13900002222"]}
    assert changed.reason == "客户换了手机号"

    # A soft delete by the sales manager, with the reason, for the card and what hangs on it.
    person = factories.create_key_person(client, name="审计联系人")
    log = factories.create_contact_log(client)
    sm = login_as(world.sales_manager)
    mark = last_id()
    r = sm.post("/admin/client/delete/", data={"id": client.id, "reason": "重复登记"})
    assert r.status_code == 302
    deleted = since(mark)
    assert {(e.entity, e.entity_id) for e in deleted} == {
        ("clients", client.id),
        ("key_persons", person.id),
        ("contact_logs", log.id),
    }
    for e in deleted:
        assert (e.action, e.actor_id, e.client_id, e.reason) == (
            "delete",
            world.sales_manager.id,
            client.id,
            "重复登记",
        )
        assert e.changes["deleted_at"][0] is None and e.changes["deleted_at"][1]
        assert e.changes["deleted_by_id"] == [None, world.sales_manager.id]
    assert_no_plain_id_number(ID_NUMBER)


def test_a_delete_without_reason_is_refused_and_leaves_no_trace(world, login_as):
    sm = login_as(world.sales_manager)
    mark = last_id()
    r = sm.post("/admin/client/delete/", data={"id": world.c1.id, "reason": "  "})
    assert r.status_code == 302
    assert since(mark) == []
    assert unscoped(Client, world.c1.id).deleted_at is None


def test_admin_key_person_and_contact_log_changes_are_recorded(world, login_as):
    am = login_as(world.am1)
    mark = last_id()
    r = am.post(
        "/admin/keyperson/new/",
        data={
            "client": world.c1.id,
            "position": "purchasing_head",
            "name": "采购钱经理",
            "mobile": "13700001111",
        },
    )
    assert r.status_code == 302
    [created] = since(mark)
    person = unscoped(KeyPerson, created.entity_id)
    assert person.name == "采购钱经理"
    assert (created.action, created.entity, created.client_id, created.actor_id) == (
        "create",
        "key_persons",
        world.c1.id,
        world.am1.id,
    )
    assert created.changes["position"] == [None, "purchasing_head"]

    mark = last_id()
    r = am.post(
        f"/admin/keyperson/edit/?id={person.id}",
        data={
            "client": world.c1.id,
            "position": "purchasing_head",
            "name": "采购钱经理",
            "mobile": "13700002222",
            "hobbies": "钓鱼",
            "change_reason": "换号",
        },
    )
    assert r.status_code == 302
    [changed] = since(mark)
    assert (changed.action, changed.entity, changed.entity_id, changed.reason) == (
        "update",
        "key_persons",
        person.id,
        "换号",
    )
    assert changed.changes == {"mobile": ["13700001111", "13700002222"], "hobbies": [None, "钓鱼"]}

    mark = last_id()
    r = am.post(
        "/admin/contactlog/new/",
        data={
            "client": world.c1.id,
            "contact_date": "2026-11-20",
            "way": "phone",
            "person_met": "采购钱经理",
            "record": "电话确认订场",
            "level": "B",
        },
    )
    assert r.status_code == 302
    [logged] = since(mark)
    assert (logged.action, logged.entity, logged.client_id, logged.actor_label) == (
        "create",
        "contact_logs",
        world.c1.id,
        "am1",
    )
    assert logged.changes["seq"] == [None, 2]  # the world's log is number 1
    assert logged.changes["recorded_by_id"] == [None, world.am1.id]


def test_refused_admin_writes_leave_no_event(world, login_as):
    am = login_as(world.am1)
    mark = last_id()
    # Another account manager's customer: out of scope.
    am.post(
        "/admin/keyperson/new/", data={"client": world.c2.id, "position": "other", "name": "不该有"}
    )
    # Invalid card.
    am.post(
        "/admin/client/new/",
        data={
            "name": "坏卡",
            "kind": "organisation",
            "level": "B",
            "stage": "prospect",
            "nature": "ordinary",
            "weight": "general",
            "phone": "123",
        },
    )
    # Deleting is for managers only.
    am.post("/admin/client/delete/", data={"id": world.c1.id, "reason": "想删"})
    assert since(mark) == []


def test_the_card_shows_its_history(world, login_as):
    set_actor(world.sales_manager)  # R6: a manager's change applies at once (with a reason)
    c1 = unscoped(Client, world.c1.id)
    c1.street = "人民路1号"
    services.update_client(db.session, c1, reason="搬了新址")
    db.session.commit()
    set_actor(None)
    html = (
        login_as(world.am1).get(f"/admin/client/details/?id={world.c1.id}").get_data(as_text=True)
    )
    history = html[html.index('id="history"') :]
    assert "搬了新址" in history
    # Fields and record types in the staff's words (zh default locale), values as typed.
    assert "详细地址" in history and "street" not in history
    assert "人民路1号" in history
    assert "主要负责人" in history and "沟通记录" in history  # the world's own rows


# --- through CLI commands ---------------------------------------------------------------------


def test_seed_demo_records_every_row_as_the_system(app):
    result = app.test_cli_runner().invoke(args=["crm", "seed-demo", "--clients", "8"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        clients = db.session.scalars(select(Client).execution_options(crm_unscoped=True)).all()
        persons = db.session.scalars(select(KeyPerson).execution_options(crm_unscoped=True)).all()
        logs = db.session.scalars(select(ContactLog).execution_options(crm_unscoped=True)).all()
        created = {(e.entity, e.entity_id) for e in events(action="create")}
        for rows, entity in (
            (clients, "clients"),
            (persons, "key_persons"),
            (logs, "contact_logs"),
        ):
            assert rows
            assert {(entity, r.id) for r in rows} <= created
        for e in events():
            # The demo's disposal list is approved by the sales manager and carried out by the
            # archivist, as on the screens (issue 16 point 9).
            if e.entity == "disposal_lists" or e.action == "dispose":
                continue
            if e.entity != "users" or e.action == "create":
                assert (e.actor_id, e.actor_label) == (None, "system")
        numbers = [services.reveal_id_number(c) for c in clients if c.id_number_enc]
        assert numbers  # customer 0 of the demo is an individual
        assert_no_plain_id_number(*numbers)
        db.session.remove()


def test_create_user_is_recorded_with_the_password_masked(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["crm", "create-user", "auditor", "--role", "finance", "--password", "long-enough-1"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        [event] = events(entity="users", action="create")
        user = db.session.scalars(select(User).where(User.username == "auditor")).one()
        assert (event.entity_id, event.actor_label) == (user.id, "system")
        assert event.changes["role"] == [None, "finance"]
        assert event.changes["password_hash"] == [None, MASK]
        assert "argon2" not in audit_dump()
        db.session.remove()


# --- plain service calls ----------------------------------------------------------------------


def test_service_calls_as_the_system_are_recorded_with_their_reason(world):
    client = factories.create_client(
        None,
        region=world.east,
        name="系统客户",
        kind="individual",
        credit_code=None,
        id_number=ID_NUMBER,
    )
    [created] = events(entity="clients", entity_id=client.id)
    assert (created.action, created.actor_id, created.actor_label) == ("create", None, "system")

    mark = last_id()
    client.owner_id = world.am1.id
    services.update_client(db.session, client, reason="分配给客户经理")
    db.session.commit()
    [assigned] = since(mark)
    assert assigned.changes == {"owner_id": [None, world.am1.id]}
    assert (assigned.actor_label, assigned.reason) == ("system", "分配给客户经理")

    # A new ID number: the change shows in masked form only.
    other = factories.valid_id_number(date(1979, 3, 8), 459)
    mark = last_id()
    services.update_client(db.session, client, id_number=other, reason="证件号录错")
    db.session.commit()
    [renumbered] = since(mark)
    assert renumbered.changes["id_number_enc"] == [MASK, MASK]
    assert renumbered.changes["id_number_mask"] == [
        ID_NUMBER[:4] + "*" * 10 + ID_NUMBER[-4:],
        other[:4] + "*" * 10 + other[-4:],
    ]

    person = factories.create_key_person(client, name="系统联系人")
    earlier = factories.create_key_person(client, name="早已删除的联系人")
    soft_delete(db.session, [earlier], "离职")
    db.session.commit()
    deleted_at = unscoped(KeyPerson, earlier.id).deleted_at
    mark = last_id()
    services.delete_client(db.session, client, "客户注销")
    db.session.commit()
    gone = since(mark)
    assert {(e.entity, e.entity_id, e.action, e.reason, e.actor_label) for e in gone} == {
        ("clients", client.id, "delete", "客户注销", "system"),
        ("key_persons", person.id, "delete", "客户注销", "system"),
    }  # the person deleted earlier keeps its own deletion
    assert unscoped(KeyPerson, earlier.id).deleted_at == deleted_at
    assert_no_plain_id_number(ID_NUMBER, other)


def test_a_service_call_as_a_user_keeps_the_reason_and_checks_the_stored_owner(world):
    """Without autoflush protection the scope check's query would flush the edit early: the
    event would lose its reason, and an owner change would be judged on the new owner."""
    set_actor(world.sales_manager)
    c1 = unscoped(Client, world.c1.id)
    mark = last_id()
    c1.level = "K"
    services.update_client(db.session, c1, reason="升为重点客户")
    db.session.commit()
    [event] = since(mark)
    assert (event.actor_id, event.changes, event.reason) == (
        world.sales_manager.id,
        {"level": ["B", "K"]},
        "升为重点客户",
    )

    set_actor(world.am2)  # not c1's account manager
    c1 = unscoped(Client, world.c1.id)
    mark = last_id()
    c1.level = "D"
    with pytest.raises(NotAllowed):
        services.update_client(db.session, c1, reason="不是我的客户")
    db.session.rollback()
    set_actor(None)
    assert since(mark) == []
    assert unscoped(Client, world.c1.id).level == "K"


def test_rolled_back_changes_leave_no_event(world):
    mark = last_id()
    c1 = unscoped(Client, world.c1.id)
    c1.level = "K"
    services.update_client(db.session, c1, reason="试一下")
    assert [e.reason for e in since(mark)] == ["试一下"]  # in the change's own transaction
    db.session.rollback()
    assert since(mark) == []
    assert unscoped(Client, world.c1.id).level == "B"

    with pytest.raises(DomainError):
        factories.create_client(None, region=world.east, phone="123")
    db.session.rollback()
    assert since(mark) == []


def test_events_of_a_record_name_its_customer(world):
    """Key persons and contact logs carry their customer's id, so the card's history and the
    audit filter by customer find them."""
    assert events(entity="clients", entity_id=world.c3.id)[0].client_id == world.c3.id
    person = db.session.scalars(
        select(KeyPerson)
        .where(KeyPerson.client_id == world.c3.id)
        .execution_options(crm_unscoped=True)
    ).one()
    [event] = events(entity="key_persons", entity_id=person.id)
    assert event.client_id == world.c3.id


def test_the_audit_screen_speaks_the_staffs_words(world, login_as):
    html = login_as(world.sales_manager).get("/admin/audit/").get_data(as_text=True)
    table = html[html.index("<table") :]
    assert "新增" in table and ">create<" not in table  # the action, in words
    assert "客户" in table and ">clients<" not in table  # the record type, in words


def test_the_audit_screen_lists_a_recorded_read_of_an_id_number(world, login_as):
    """Opening a card with its ID number in full records what was read ({"field": ...}), not a
    change: the audit list shows it by the field's name instead of failing on it."""
    person = factories.create_client(
        world.am1, name="张三", kind="individual", id_number=factories.valid_id_number()
    )
    manager = login_as(world.sales_manager)
    assert manager.get(f"/admin/client/details/?id={person.id}").status_code == 200
    [read] = [
        e for e in events(entity="clients", entity_id=person.id) if e.action == "view_sensitive"
    ]
    assert read.changes == {"field": "id_number"}

    response = manager.get("/admin/audit/")
    assert response.status_code == 200
    table = response.get_data(as_text=True)
    table = table[table.index("<table") :]
    assert "查看完整信息" in table and "<div>身份证号</div>" in table
    # the card's own history shows it the same way (not the letters of "id_number" as a change)
    card = manager.get(f"/admin/client/details/?id={person.id}").get_data(as_text=True)
    history = card[card.index('id="history"') :]
    assert "<div>身份证号</div>" in history and "i → d" not in history
