"""Issue 16 point 9 (R3, R6, R9): a document under retention outlives its customer's
destruction, detached and seen only by the archivist and the managers; when its retention
ends it goes only through a disposal list the sales manager approved; a rejected list changes
nothing."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from crm.access import set_actor
from crm.archives import disposal, rules, services
from crm.archives.models import ArchiveDocument, CatalogueLine, DisposalList
from crm.audit import AuditEvent
from crm.errors import DomainError, NotAllowed
from crm.extensions import db
from crm.governance.models import DeletionRequest
from crm.tasks.archives import propose_disposal
from crm.tasks.governance import destroy_expired_deletions
from tests.archives.conftest import index, make_doc

ENDS = date(2057, 1, 1)  # a contract of 2026 is kept 30 years from 1 January 2027


def test_retention_ends_in_whole_years_after_the_documents_year():
    assert rules.retention_ends("D30", date(2026, 3, 1)) == ENDS
    assert rules.retention_ends("D10", date(2010, 12, 31)) == date(2021, 1, 1)
    assert rules.retention_ends("Y", date(2010, 1, 1)) is None
    assert rules.retention_ended_before("D10", date(2021, 1, 1)) == date(2011, 1, 1)


def destroyed_customer_with_a_contract(world, login_as):
    """c2 has a 2026 contract (D30) filed and indexed; c2 is deleted and, 31 days later,
    destroyed. Returns the kept document's id and file."""
    set_actor(None)
    doc = make_doc(world.c2, category="contracts", on=date(2026, 3, 1))
    index(doc)
    doc_id, path = doc.id, services.absolute(doc.storage_path)
    login_as(world.sales_manager).post(
        "/admin/client/delete/", data={"id": world.c2.id, "reason": "客户注销"}
    )
    request = db.session.scalars(select(DeletionRequest)).one()
    request.deleted_at -= timedelta(days=31)
    db.session.commit()
    assert destroy_expired_deletions() == {"destroyed": 1}
    db.session.expire_all()
    return doc_id, path


def fresh(doc_id) -> ArchiveDocument:
    db.session.expire_all()
    return db.session.execute(
        select(ArchiveDocument)
        .where(ArchiveDocument.id == doc_id)
        .execution_options(crm_unscoped=True)
    ).scalar_one()


def test_a_document_under_retention_survives_its_customer_for_the_archivist_and_managers(
    world, login_as
):
    name = world.c2.name
    doc_id, path = destroyed_customer_with_a_contract(world, login_as)
    doc = fresh(doc_id)
    assert doc.client_id is None and doc.destruction_id and doc.status == "archived"
    assert doc.deleted_at is None and path.exists()
    assert name not in doc.client_name
    for user in (world.archivist, world.sales_manager, world.general_manager):
        c = login_as(user)
        assert doc.archive_no in c.get("/admin/archive_document/").get_data(as_text=True)
        assert c.get(f"/admin/archive_document/details/?id={doc_id}").status_code == 200
    for user in (world.am2, world.rm_east, world.am1):
        c = login_as(user)
        assert doc.archive_no not in c.get("/admin/archive_document/").get_data(as_text=True)
        assert c.get(f"/admin/archive_document/details/?id={doc_id}").status_code == 404
    for user in (world.am2, world.finance, world.service):
        assert login_as(user).get("/admin/disposal/").status_code == 403
    # Its content: the managers read it; the archivist keeps to the catalogue (R5).
    download = f"/admin/archive_document/download/?id={doc_id}"
    assert login_as(world.general_manager).get(download).data == b"%PDF-1.4 contract"
    assert login_as(world.archivist).get(download).status_code == 403
    assert login_as(world.am2).get(download).status_code == 404


def test_a_document_is_disposed_of_only_through_an_approved_list(world, login_as):
    doc_id, path = destroyed_customer_with_a_contract(world, login_as)
    assert disposal.propose_disposal(db.session, today=ENDS - timedelta(days=1)) is None
    listed = disposal.propose_disposal(db.session, today=ENDS)
    db.session.commit()
    assert [i.document_id for i in listed.items] == [doc_id]
    # Not approved: nobody carries it out; only the sales manager approves, with a reason.
    with pytest.raises(DomainError):
        disposal.carry_out_disposal(db.session, listed.id)
    db.session.rollback()
    archivist, sm = login_as(world.archivist), login_as(world.sales_manager)
    assert (
        archivist.post(
            "/admin/disposal/decide/",
            data={"id": listed.id, "decision": "approve", "comment": "到期"},
        ).status_code
        == 403
    )
    assert archivist.post("/admin/disposal/carry-out/", data={"id": listed.id}).status_code == 302
    sm.post("/admin/disposal/decide/", data={"id": listed.id, "decision": "approve", "comment": ""})
    doc = fresh(doc_id)
    assert doc.status == "archived" and path.exists()
    assert db.session.get(DisposalList, listed.id).status == "proposed"
    page = sm.get(f"/admin/disposal/details/?id={listed.id}").get_data(as_text=True)
    assert doc.archive_no in page and 'id="decide-disposal"' in page

    sm.post(
        "/admin/disposal/decide/",
        data={"id": listed.id, "decision": "approve", "comment": "保管期满，经鉴定可销毁"},
    )
    assert 'id="carry-out-disposal"' in archivist.get(
        f"/admin/disposal/details/?id={listed.id}"
    ).get_data(as_text=True)
    archivist.post("/admin/disposal/carry-out/", data={"id": listed.id})
    db.session.expire_all()
    listed = db.session.get(DisposalList, listed.id)
    assert (listed.status, listed.files_deleted) == ("done", 1)
    assert listed.decided_by_id == world.sales_manager.id
    assert listed.carried_out_by_id == world.archivist.id
    doc = fresh(doc_id)
    assert (doc.status, doc.disposal_id, doc.storage_path) == ("disposed", listed.id, None)
    assert not path.exists()
    lines = db.session.scalars(
        select(CatalogueLine).where(CatalogueLine.document_id == doc_id)
    ).all()
    assert lines and all(
        x.title == f"Disposed of — see disposal list {listed.id}" and x.disposal_id == listed.id
        for x in lines
    )
    decided = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.entity == "disposal_lists", AuditEvent.entity_id == listed.id
        )
    ).all()
    assert any(
        e.reason == "保管期满，经鉴定可销毁" and e.actor_id == world.sales_manager.id
        for e in decided
    )
    assert db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "dispose", AuditEvent.entity_id == doc_id)
    ).one()
    # Disposed of once: nothing more is proposed.
    assert disposal.propose_disposal(db.session, today=ENDS + timedelta(days=400)) is None


def test_a_rejected_list_changes_nothing(world, login_as, monkeypatch):
    doc_id, path = destroyed_customer_with_a_contract(world, login_as)
    before = fresh(doc_id)
    number, lines = (
        before.archive_no,
        sorted(
            (x.set_kind, x.title, x.remarks)
            for x in db.session.scalars(
                select(CatalogueLine).where(CatalogueLine.document_id == doc_id)
            )
        ),
    )
    monkeypatch.setattr(disposal, "local_today", lambda: ENDS)
    assert propose_disposal()["documents"] == 1
    assert propose_disposal() == {"list": None, "documents": 0}  # a second run: nothing more
    listed = db.session.scalars(select(DisposalList)).one()
    sm = login_as(world.sales_manager)
    sm.post(
        "/admin/disposal/decide/",
        data={"id": listed.id, "decision": "reject", "comment": "涉诉，继续保存"},
    )
    sm.post("/admin/disposal/carry-out/", data={"id": listed.id})
    db.session.expire_all()
    assert db.session.get(DisposalList, listed.id).status == "rejected"
    doc = fresh(doc_id)
    assert (doc.status, doc.archive_no, doc.disposal_id) == ("archived", number, None)
    assert path.exists()
    assert lines == sorted(
        (x.set_kind, x.title, x.remarks)
        for x in db.session.scalars(
            select(CatalogueLine).where(CatalogueLine.document_id == doc_id)
        )
    )
    # The daily task does not bring back what the sales manager kept; asking again does.
    assert propose_disposal()["documents"] == 0
    set_actor(world.archivist)
    again = disposal.propose_disposal(db.session)
    assert [i.document_id for i in again.items] == [doc_id]
    set_actor(world.am2)
    with pytest.raises(NotAllowed):
        disposal.propose_disposal(db.session)


def test_the_disposal_list_prints_as_a_pdf_for_its_readers_only(world, login_as):
    from tests.archives.test_printing import pdf_text

    doc_id, _path = destroyed_customer_with_a_contract(world, login_as)
    listed = disposal.propose_disposal(db.session, today=ENDS)
    db.session.commit()
    url = f"/admin/disposal/list.pdf?id={listed.id}"
    r = login_as(world.archivist).get(url)
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    reader, text = pdf_text(r.data)
    assert fresh(doc_id).archive_no in text and f"#{listed.id}" in text
    assert reader.pages[0].mediabox.width > reader.pages[0].mediabox.height  # A4 landscape
    assert 'id="disposal-pdf"' in login_as(world.archivist).get(
        f"/admin/disposal/details/?id={listed.id}"
    ).get_data(as_text=True)
    for user in (world.am1, world.rm_east, world.finance, world.clerk):
        assert login_as(user).get(url).status_code in (403, 404)
    assert (
        login_as(world.archivist)
        .get("/admin/disposal/list.pdf?id=99999999999999999999")
        .status_code
        == 404
    )
