"""R5 view grants: another account manager or a department manager reads a customer's archive
only after the sales or general manager approves, read-only, until the end date; every read
under a grant is audited; department managers read their region unless the setting says no."""

from datetime import timedelta

from sqlalchemy import select

from crm.audit import AuditEvent
from crm.extensions import db
from crm.governance.models import ViewGrant
from crm.settings import Setting
from crm.timeutil import utcnow
from tests import factories


def grants() -> list[ViewGrant]:
    db.session.expire_all()
    return db.session.scalars(select(ViewGrant).order_by(ViewGrant.id)).all()


def ask(c, client, reason="接手前了解客户"):
    return c.post("/admin/view_grant/ask/", data={"client_code": client.code, "reason": reason})


def grant(world, login_as, user, client, ends_on=None):
    ask(login_as(user), client)
    request = grants()[-1]
    data = {"id": request.id, "decision": "approve", "comment": "同意"}
    if ends_on:
        data["ends_on"] = ends_on
    r = login_as(world.sales_manager).post("/admin/view_grant/decide/", data=data)
    assert r.status_code == 302
    return grants()[-1]


def reads(user_id) -> list[AuditEvent]:
    db.session.expire_all()
    return db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.actor_id == user_id, AuditEvent.action == "read_under_grant"
        )
    ).all()


def test_a_request_opens_nothing_until_approved(world, login_as):
    am2 = login_as(world.am2)
    assert ask(am2, world.c1, reason=" ").status_code == 302
    assert grants() == []  # a reason is required
    ask(am2, world.c1)
    [request] = grants()
    assert (request.status, request.author_id, request.client_id) == (
        "pending",
        world.am2.id,
        world.c1.id,
    )
    assert am2.get(f"/admin/client/details/?id={world.c1.id}").status_code == 404
    r = am2.post("/admin/view_grant/decide/", data={"id": request.id, "decision": "approve"})
    assert r.status_code == 403
    assert grants()[0].status == "pending"


def test_a_live_grant_opens_the_archive_read_only_and_each_read_is_audited(world, login_as):
    client = factories.create_client(world.am1, id_number=factories.valid_id_number())
    factories.create_key_person(client, name="授权可见联系人", religion="佛教")
    g = grant(world, login_as, world.am2, client)
    assert g.status == "approved" and g.ends_at > utcnow() + timedelta(days=6)
    am2 = login_as(world.am2)
    card = am2.get(f"/admin/client/details/?id={client.id}")
    assert card.status_code == 200
    body = card.get_data(as_text=True)
    assert "授权可见联系人" in body
    assert 'id="id-number-full"' not in body  # no sensitive field in full under a grant
    assert client.name in am2.get("/admin/client/").get_data(as_text=True)
    assert len(reads(world.am2.id)) == 1
    kp = client.key_persons[0]
    page = am2.get(f"/admin/keyperson/details/?id={kp.id}").get_data(as_text=True)
    assert "佛教" not in page and len(reads(world.am2.id)) == 2
    # Read-only: every write path is refused and changes nothing.
    assert am2.get(f"/admin/client/edit/?id={client.id}").status_code == 403
    r = am2.post(
        f"/admin/client/edit/?id={client.id}",
        data={"name": "HIJACKED", "kind": "organisation", "change_reason": "x"},
    )
    assert r.status_code == 403
    assert (
        am2.post(
            f"/admin/keyperson/edit/?id={kp.id}", data={"name": "HIJACKED", "position": "legal_rep"}
        ).status_code
        == 403
    )
    assert (
        am2.post("/admin/client/delete/", data={"id": client.id, "reason": "x"}).status_code == 403
    )
    db.session.expire_all()
    assert db.session.get(type(client), client.id).name != "HIJACKED"
    # The owner's own reads are not "under a grant".
    login_as(world.am1).get(f"/admin/client/details/?id={client.id}")
    assert reads(world.am1.id) == []


def test_a_grant_closes_itself_at_its_end(world, login_as):
    g = grant(world, login_as, world.am2, world.c1)
    am2 = login_as(world.am2)
    assert am2.get(f"/admin/client/details/?id={world.c1.id}").status_code == 200
    g.ends_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert am2.get(f"/admin/client/details/?id={world.c1.id}").status_code == 404
    assert world.c1.name not in am2.get("/admin/client/").get_data(as_text=True)
    listing = login_as(world.sales_manager).get("/admin/view_grant/").get_data(as_text=True)
    assert "已过期" in listing or "Expired" in listing


def test_the_approver_sets_the_end_date(world, login_as):
    tomorrow = (utcnow() + timedelta(days=2)).date().isoformat()
    g = grant(world, login_as, world.am2, world.c1, ends_on=tomorrow)
    assert g.ends_at < utcnow() + timedelta(days=4)


def test_a_department_manager_reads_the_region_unless_the_setting_says_no(world, login_as):
    rm = login_as(world.rm_east)
    assert rm.get(f"/admin/client/details/?id={world.c1.id}").status_code == 200
    db.session.add(Setting(key="regional_manager_reads_region", value=False))
    db.session.commit()
    assert rm.get(f"/admin/client/details/?id={world.c1.id}").status_code == 404
    grant(world, login_as, world.rm_east, world.c1)
    assert rm.get(f"/admin/client/details/?id={world.c1.id}").status_code == 200
    assert rm.get(f"/admin/client/details/?id={world.c2.id}").status_code == 404


def test_a_grant_for_a_customer_already_in_scope_is_refused(world, login_as):
    ask(login_as(world.am1), world.c1)
    assert grants() == []


def test_the_read_is_recorded_by_the_request_not_committed_while_rendering(
    world, login_as, monkeypatch
):
    """Issue 18: the details page's bookkeeping is written in the request's transaction and
    committed once the page is rendered: a page that fails to render keeps no read."""
    from crm.access import set_actor
    from crm.governance.grants import audit_read

    client = factories.create_client(world.am1)
    grant(world, login_as, world.am2, client)
    am2 = login_as(world.am2)
    # The domain function records and leaves the commit to its caller.
    with db.session.no_autoflush:
        set_actor(world.am2)
        assert audit_read(db.session, world.am2, client) is True
        db.session.rollback()
        set_actor(None)
    assert reads(world.am2.id) == []
    # A details page whose template fails after the read was recorded keeps nothing of it.
    from flask_admin.base import BaseView

    from crm.governance import consent

    recorded = []
    real_audit_read = consent.audit_read
    monkeypatch.setattr(consent, "audit_read", lambda *a: recorded.append(real_audit_read(*a)))

    def broken(self, template, **kwargs):
        raise RuntimeError("the page failed")

    monkeypatch.setattr(BaseView, "render", broken)
    am2.application.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        assert am2.get(f"/admin/client/details/?id={client.id}").status_code == 500
    finally:
        am2.application.config["PROPAGATE_EXCEPTIONS"] = None
    assert recorded == [True] and reads(world.am2.id) == []
    monkeypatch.undo()
    assert am2.get(f"/admin/client/details/?id={client.id}").status_code == 200
    assert len(reads(world.am2.id)) == 1
