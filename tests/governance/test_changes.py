"""R6 change requests: an account manager's edit of a filed card waits for the sales manager;
approval applies exactly that difference, rejection leaves the card as it was, a request made
stale by a later change is refused; managers' edits apply at once but need a reason; adding
material never waits."""

from sqlalchemy import func, select

from crm.audit import AuditEvent
from crm.clients.models import Client, KeyPerson
from crm.extensions import db
from crm.governance import changes
from crm.governance.models import ChangeRequest


def load(client_id) -> Client:
    db.session.expire_all()
    return db.session.execute(
        select(Client).where(Client.id == client_id).execution_options(crm_unscoped=True)
    ).scalar_one()


def requests(**where) -> list[ChangeRequest]:
    db.session.expire_all()
    stmt = select(ChangeRequest).order_by(ChangeRequest.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(ChangeRequest, key) == value)
    return db.session.scalars(stmt).all()


def card_form(client: Client, **changes) -> dict:
    data = {
        "name": client.name,
        "kind": client.kind,
        "level": client.level,
        "stage": client.stage,
        "nature": client.nature,
        "weight": client.weight,
        "phone": client.phone,
        "credit_code": client.credit_code,
        "owner": client.owner_id,
        "region": client.region_id,
    }
    return {**data, **changes}


def edit(c, client, **changes):
    return c.post(f"/admin/client/edit/?id={client.id}", data=card_form(client, **changes))


def ask(world, login_as, **changes):
    changes.setdefault("change_reason", "客户更名")
    r = edit(login_as(world.am1), world.c1, **changes)
    assert r.status_code == 302
    [request] = requests(status="pending")
    return request


def decide(c, request, decision, comment=""):
    return c.post(
        "/admin/change_request/decide/",
        data={"id": request.id, "decision": decision, "comment": comment},
    )


def test_an_account_managers_edit_waits_with_its_difference_and_reason(world, login_as):
    before = load(world.c1.id)
    request = ask(world, login_as, short_name="甲贸易", level="A")
    after = load(world.c1.id)
    assert (after.short_name, after.level, after.version) == (None, "B", before.version)
    assert request.changes == {"short_name": [None, "甲贸易"], "level": ["B", "A"]}
    assert (request.entity, request.entity_id, request.client_id) == (
        "clients",
        world.c1.id,
        world.c1.id,
    )
    assert (request.reason, request.author_id) == ("客户更名", world.am1.id)
    card = (
        login_as(world.am1).get(f"/admin/client/details/?id={world.c1.id}").get_data(as_text=True)
    )
    assert 'id="pending-changes"' in card and "客户更名" in card


def test_an_account_managers_edit_needs_a_reason(world, login_as):
    r = edit(login_as(world.am1), world.c1, short_name="甲贸易", change_reason=" ")
    assert r.status_code == 200
    assert requests() == [] and load(world.c1.id).short_name is None


def test_approval_applies_exactly_the_difference_in_one_go(world, login_as):
    request = ask(world, login_as, short_name="甲贸易", level="A")
    version = load(world.c1.id).version
    r = decide(login_as(world.sales_manager), request, "approve", "同意")
    assert r.status_code == 302
    client = load(world.c1.id)
    assert (client.short_name, client.level, client.name) == ("甲贸易", "A", world.c1.name)
    assert client.version == version + 1
    [done] = requests()
    assert (done.status, done.decided_by_id, done.comment) == (
        "approved",
        world.sales_manager.id,
        "同意",
    )
    event = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity == "clients", AuditEvent.action == "update")
        .order_by(AuditEvent.id)
    ).all()[-1]
    assert event.changes == {"short_name": [None, "甲贸易"], "level": ["B", "A"]}
    assert event.reason == "客户更名"


def test_the_general_manager_may_approve_too(world, login_as):
    request = ask(world, login_as, short_name="甲")
    decide(login_as(world.general_manager), request, "approve")
    assert load(world.c1.id).short_name == "甲"


def test_rejection_leaves_the_card_unchanged_and_needs_a_comment(world, login_as):
    request = ask(world, login_as, short_name="甲贸易")
    sm = login_as(world.sales_manager)
    decide(sm, request, "reject", "")
    assert requests()[0].status == "pending"
    decide(sm, request, "reject", "名称未变")
    assert requests()[0].status == "rejected" and requests()[0].comment == "名称未变"
    assert load(world.c1.id).short_name is None
    decide(sm, request, "approve")  # a decided request cannot be decided again
    assert load(world.c1.id).short_name is None


def test_a_stale_request_is_refused_and_the_approver_sees_the_conflict(world, login_as):
    request = ask(world, login_as, short_name="甲贸易")
    sm = login_as(world.sales_manager)
    r = edit(sm, world.c1, short_name="经理改的", change_reason="核实")
    assert r.status_code == 302 and load(world.c1.id).short_name == "经理改的"
    r = decide(sm, request, "approve")
    page = sm.get(r.headers["Location"]).get_data(as_text=True)
    assert "short_name" in page  # the conflict names the field that moved
    assert load(world.c1.id).short_name == "经理改的"
    assert requests()[0].status == "pending"


def test_a_change_elsewhere_on_the_card_also_makes_it_stale(world, login_as):
    """The version moves with any change, so the difference is never applied over one."""
    request = ask(world, login_as, short_name="甲贸易")
    edit(login_as(world.sales_manager), world.c1, level="K", change_reason="升级")
    decide(login_as(world.sales_manager), request, "approve")
    client = load(world.c1.id)
    assert (client.short_name, client.level) == (None, "K")


def test_managers_edit_at_once_but_with_a_reason(world, login_as):
    for user in (world.sales_manager, world.rm_east):
        c = login_as(user)
        assert edit(c, world.c1, short_name=f"by {user.username}").status_code == 200
        assert load(world.c1.id).short_name != f"by {user.username}"
        r = edit(c, world.c1, short_name=f"by {user.username}", change_reason="核实")
        assert r.status_code == 302 and load(world.c1.id).short_name == f"by {user.username}"
    assert requests() == []


def test_only_managers_decide(world, login_as):
    request = ask(world, login_as, short_name="甲贸易")
    # The author may read their request but not decide it; others do not even see it.
    for user, code in ((world.am1, 403), (world.rm_east, 404), (world.clerk, 403)):
        assert decide(login_as(user), request, "approve").status_code == code, user.username
    assert load(world.c1.id).short_name is None and requests()[0].status == "pending"


def test_a_request_is_seen_by_its_author_and_the_managers_only(world, login_as):
    request = ask(world, login_as, short_name="甲贸易")
    url = f"/admin/change_request/details/?id={request.id}"
    assert login_as(world.am1).get(url).status_code == 200
    assert login_as(world.sales_manager).get(url).status_code == 200
    assert login_as(world.am2).get(url).status_code == 404
    assert "甲贸易" not in login_as(world.am2).get("/admin/change_request/").get_data(as_text=True)


def test_the_request_screens_have_no_create_edit_or_delete_path(world, login_as):
    request = ask(world, login_as, short_name="甲贸易")
    sm = login_as(world.sales_manager)
    sm.post("/admin/change_request/new/", data={"reason": "x"})
    sm.post(f"/admin/change_request/edit/?id={request.id}", data={"reason": "forged"})
    sm.post("/admin/change_request/delete/", data={"id": request.id, "reason": "x"})
    sm.post(
        "/admin/change_request/action/",
        data={"action": "delete", "rowid": [request.id], "reason": "x"},
    )
    [still] = requests()
    assert (still.reason, still.status) == ("客户更名", "pending")
    assert db.session.scalar(select(func.count()).select_from(ChangeRequest)) == 1


def test_adding_material_needs_no_approval(world, login_as):
    am = login_as(world.am1)
    r = am.post(
        "/admin/keyperson/new/",
        data={"client": world.c1.id, "position": "legal_rep", "name": "新采购"},
    )
    assert r.status_code == 302
    r = am.post(
        "/admin/contactlog/new/",
        data={
            "client": world.c1.id,
            "contact_date": "2026-11-20",
            "way": "phone",
            "person_met": "新采购",
            "record": "电话",
            "level": "B",
        },
    )
    assert r.status_code == 302
    names = db.session.scalars(select(KeyPerson.name).where(KeyPerson.client_id == world.c1.id))
    assert "新采购" in list(names)
    assert requests() == []


def test_demo_data_has_one_of_each_governance_case(ctx):
    from crm.demo import seed_demo
    from crm.governance import grants
    from crm.governance.models import DeletionRequest, ViewGrant

    seed_demo(db.session, n_clients=40)
    db.session.commit()
    assert [r.entity for r in requests(status="pending")] == ["clients"]
    deletions = db.session.scalars(select(DeletionRequest)).all()
    # Two former customers were destroyed long ago (the archive demo's disposal lists).
    assert sorted(d.status for d in deletions) == ["approved", "destroyed", "destroyed", "pending"]
    [binned] = [d for d in deletions if d.status == "approved"]
    assert db.session.get(Client, binned.entity_id) is None  # hidden: it is in the bin
    [grant] = db.session.scalars(select(ViewGrant)).all()
    assert grants.state(grant) == "live"


def test_a_contract_edit_by_its_account_manager_waits_too(world):
    from decimal import Decimal

    from crm.access import set_actor
    from crm.contracts import services as contracts
    from crm.contracts.models import Contract

    contract = contracts.add_contract(
        db.session,
        Contract(
            client_id=world.c1.id, kind="membership", title="会籍协议", amount=Decimal("12000.00")
        ),
    )
    db.session.commit()
    set_actor(world.am1)
    contract.amount = Decimal("15000.00")
    contracts.update_contract(db.session, contract, "金额笔误")
    db.session.commit()
    set_actor(None)
    db.session.expire_all()
    assert db.session.get(Contract, contract.id).amount == Decimal("12000.00")
    [request] = requests(status="pending")
    assert (request.entity, request.changes) == ("contracts", {"amount": ["12000.00", "15000.00"]})
    set_actor(world.sales_manager)
    changes.approve_change(db.session, request.id, "核对无误")
    db.session.commit()
    set_actor(None)
    db.session.expire_all()
    assert db.session.get(Contract, contract.id).amount == Decimal("15000.00")
