"""The archive screens as each role: the row scope on lists, pages, downloads, catalogues and
search; the archivist's reach over catalogues but not content; the moves on a document."""

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from crm.archives.models import ArchiveDocument, ArchiveFlag, ArchiveVolume, CatalogueLine
from crm.audit import AuditEvent
from crm.extensions import db
from tests.archives.conftest import index, make_doc


@pytest.fixture
def docs(world):
    """An archived contract for each of c1 (am1), c2 (am2, same region) and c3 (am3, north)."""
    out = {}
    for key in ("c1", "c2", "c3"):
        doc = make_doc(getattr(world, key), title=f"合同-{key}", content=f"%PDF-1.4 {key}".encode())
        index(doc)
        out[key] = doc
    return out


def listed(body: str, doc) -> bool:
    """A document's row is on the page (its link; a search term echoed elsewhere is not)."""
    return re.search(rf'archive_document/details/\?id={doc.id}[&"]', body) is not None


SEES = {
    "am1": {"c1"},
    "am2": {"c2"},
    "rm_east": {"c1", "c2"},
    "rm_north": {"c3"},
    "sales_manager": {"c1", "c2", "c3"},
    "general_manager": {"c1", "c2", "c3"},
    "archivist": {"c1", "c2", "c3"},
}
# Who opens the content (R5): the customer's own people, never the archivist as such.
READS = {
    "am1": {"c1"},
    "am2": {"c2"},
    "rm_east": {"c1", "c2"},
    "rm_north": {"c3"},
    "sales_manager": {"c1", "c2", "c3"},
    "general_manager": {"c1", "c2", "c3"},
    "archivist": set(),
}


@pytest.mark.parametrize("who", sorted(SEES))
def test_documents_list_page_and_file_follow_the_scope(world, docs, login_as, who):
    c = login_as(getattr(world, who))
    body = c.get("/admin/archive_document/").get_data(as_text=True)
    for key, doc in docs.items():
        assert listed(body, doc) == (key in SEES[who]), (who, key)
        page = c.get(f"/admin/archive_document/details/?id={doc.id}")
        assert page.status_code == (200 if key in SEES[who] else 404), (who, key)
        download = c.get(f"/admin/archive_document/download/?id={doc.id}")
        expected = 200 if key in READS[who] else (403 if key in SEES[who] else 404)
        assert download.status_code == expected, (who, key)
        if expected == 200:
            assert download.data == f"%PDF-1.4 {key}".encode()


@pytest.mark.parametrize("who", ["finance", "clerk", "service", "admin"])
def test_other_roles_do_not_open_the_archive(world, docs, login_as, who):
    c = login_as(getattr(world, who))
    for url in (
        "/admin/archive_document/",
        "/admin/archive_volume/",
        "/admin/archive_flag/",
        f"/admin/archive_document/download/?id={docs['c1'].id}",
    ):
        assert c.get(url).status_code == 403, url


def test_every_read_of_a_file_is_audited(world, docs, login_as):
    c = login_as(world.am1)
    for _ in range(2):
        assert c.get(f"/admin/archive_document/download/?id={docs['c1'].id}").status_code == 200
    login_as(world.archivist).get(f"/admin/archive_document/download/?id={docs['c1'].id}")
    reads = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "read_file")).all()
    assert [(e.actor_id, e.entity_id) for e in reads] == [(world.am1.id, docs["c1"].id)] * 2


def test_search_by_archive_number_title_and_customer(world, docs, login_as):
    c = login_as(world.archivist)
    for term, key in ((docs["c2"].archive_no, "c2"), ("合同-c3", "c3"), (world.c1.name[:4], "c1")):
        body = c.get("/admin/archive_document/", query_string={"search": term}).get_data(
            as_text=True
        )
        assert {k for k, d in docs.items() if listed(body, d)} == {key}, term
    # an account manager's search finds nothing outside their customers
    body = (
        login_as(world.am1)
        .get("/admin/archive_document/", query_string={"search": docs["c3"].archive_no})
        .get_data(as_text=True)
    )
    assert not listed(body, docs["c3"])


def test_documents_by_customer_and_by_category(world, docs, login_as):
    basic = make_doc(world.c1, "basic", title="登记表")
    index(basic)
    c = login_as(world.sales_manager)
    by_client = c.get(f"/admin/archive_document/?client_id={world.c1.id}").get_data(as_text=True)
    assert listed(by_client, basic) and listed(by_client, docs["c1"])
    assert not listed(by_client, docs["c2"])
    by_cat = c.get("/admin/archive_document/?category=basic").get_data(as_text=True)
    assert listed(by_cat, basic) and not listed(by_cat, docs["c1"])


def test_volumes_and_both_catalogues_for_the_archivist(world, docs, login_as):
    c = login_as(world.archivist)
    volume = db.session.get(ArchiveVolume, docs["c3"].volume_id)
    page = c.get(f"/admin/archive_volume/details/?id={volume.id}").get_data(as_text=True)
    assert page.count(docs["c3"].archive_no) >= 2  # a line in each catalogue
    assert f"{docs['c3'].archive_no}-E" in page and "box 17" in page
    sheet = c.get(f"/admin/archive_volume/catalogue.xlsx?id={volume.id}&set=electronic")
    assert sheet.status_code == 200
    rows = list(load_workbook(io.BytesIO(sheet.data)).active.iter_rows(values_only=True))
    assert rows[2][1] == docs["c3"].archive_no
    assert rows[2][6] == f"Paper {docs['c3'].archive_no} at room A101, cabinet 3, shelf 2, box 17"
    for who in (world.am1, world.rm_east):
        assert login_as(who).get("/admin/archive_volume/").status_code == 403


def test_closing_the_year_from_the_volumes_screen(world, login_as):
    from datetime import date

    last_year = make_doc(world.c1, on=date(2025, 6, 1))
    index(last_year)
    this_year = make_doc(world.c1)
    index(this_year)
    assert (
        login_as(world.sales_manager)
        .post("/admin/archive_volume/close-year/", data={"year": 2025})
        .status_code
        == 302
    )
    c = login_as(world.archivist)
    c.post("/admin/archive_volume/close-year/", data={"year": 2025})
    statuses = {
        v.year: v.status
        for v in db.session.scalars(select(ArchiveVolume).execution_options(populate_existing=True))
    }
    assert statuses == {2025: "closed", 2026: "open"}


def test_the_account_manager_files_with_an_upload_and_the_leader_approves(
    world, app, login_as, monkeypatch
):
    monkeypatch.setitem(app.config, "ARCHIVE_INDEX_INLINE", True)
    am1 = login_as(world.am1)
    r = am1.post(
        "/admin/archive_document/new/",
        data={
            "client": str(world.c1.id),
            "category": "debts",
            "title": "还款协议",
            "doc_date": "2026-10-08",
            "pages": "3",
            "form": "both",
            "customer_signed": "y",
            "handler": "张三",
            "room": "A1",
            "cabinet": "2",
            "shelf": "3",
            "box": "4",
            "upload": (io.BytesIO(b"%PDF-1.4 agreement scan"), "agreement.pdf", "application/pdf"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    doc = db.session.scalars(select(ArchiveDocument)).one()
    assert (doc.status, doc.manager_id, doc.retention) == ("draft", world.am1.id, "D30")
    am1.post("/admin/archive_document/file/", data={"id": doc.id})
    assert db.session.get(ArchiveDocument, doc.id, populate_existing=True).status == "draft"
    assert am1.post("/admin/archive_document/approve/", data={"id": doc.id}).status_code == 302
    login_as(world.rm_east).post("/admin/archive_document/approve/", data={"id": doc.id})
    am1.post("/admin/archive_document/file/", data={"id": doc.id})
    doc = db.session.get(ArchiveDocument, doc.id, populate_existing=True)
    assert doc.status == "archived" and doc.archive_no == "Z001-2026-D30-ZW-001-0001"
    assert doc.dual_status == "linked" and doc.size == len(b"%PDF-1.4 agreement scan")


def test_the_archivist_edits_only_the_paper_location(world, docs, login_as):
    c = login_as(world.archivist)
    doc = docs["c3"]
    form = c.get(f"/admin/archive_document/edit/?id={doc.id}").get_data(as_text=True)
    assert 'name="box"' in form and 'name="title"' not in form
    c.post(
        f"/admin/archive_document/edit/?id={doc.id}",
        data={"room": "B2", "cabinet": "1", "shelf": "1", "box": "8", "title": "changed"},
    )
    doc = db.session.get(ArchiveDocument, doc.id, populate_existing=True)
    assert (doc.box, doc.title) == ("8", "合同-c3")


def test_integrity_flags_follow_the_scope(world, docs, login_as, _archive_root):
    from crm.archives import services

    (_archive_root / docs["c3"].storage_path).unlink()
    services.check_integrity(db.session, share_percent=100)
    db.session.commit()
    assert db.session.scalars(select(ArchiveFlag)).one().document_id == docs["c3"].id
    code = docs["c3"].archive_no
    assert code in login_as(world.archivist).get("/admin/archive_flag/").get_data(as_text=True)
    assert code in login_as(world.am3).get("/admin/archive_flag/").get_data(as_text=True)
    assert code not in login_as(world.am1).get("/admin/archive_flag/").get_data(as_text=True)


@pytest.mark.parametrize("endpoint", ["archive_document", "archive_volume", "archive_flag"])
def test_every_filter_applies(world, docs, login_as, app, endpoint):
    from crm.admin.base import ScopedModelView

    admin = app.extensions["admin"][0]
    view = next(v for v in admin._views if getattr(v, "endpoint", None) == endpoint)
    assert isinstance(view, ScopedModelView)
    values = {
        "Year": "2026",
        "Category": "contracts",
        "Status": "archived",
        "Form": "both",
        "Customer": world.c1.name[:3],
        "Problem": "file_missing",
    }
    c = login_as(world.sales_manager)
    for position, flt in enumerate(view._filters):
        value = values.get(str(flt.name), "2026-01-01")
        r = c.get(f"/admin/{endpoint}/", query_string={f"flt0_{position}": value})
        assert r.status_code == 200, (flt.name, r.get_data(as_text=True)[:300])
    if endpoint == "archive_document":  # the year filter narrows by the document's date
        year = next(i for i, f in enumerate(view._filters) if str(f.name) == "Year")
        for value, shown in (("2025", False), ("2026", True)):
            body = c.get(f"/admin/{endpoint}/", query_string={f"flt0_{year}": value})
            assert listed(body.get_data(as_text=True), docs["c1"]) is shown


def test_the_archivist_binds_a_filed_document_but_not_a_draft(world, login_as):
    filed, draft = make_doc(world.c2), make_doc(world.c2, signed=False)
    login_as(world.am2).post("/admin/archive_document/bind/", data={"id": filed.id})
    assert db.session.get(ArchiveDocument, filed.id, populate_existing=True).archive_no is None
    c = login_as(world.archivist)
    page = c.get(f"/admin/archive_document/details/?id={filed.id}").get_data(as_text=True)
    assert 'id="move-bind"' in page
    assert 'id="move-bind"' not in c.get(
        f"/admin/archive_document/details/?id={draft.id}"
    ).get_data(as_text=True)
    c.post("/admin/archive_document/bind/", data={"id": filed.id})
    c.post("/admin/archive_document/bind/", data={"id": draft.id})
    assert db.session.get(ArchiveDocument, filed.id, populate_existing=True).archive_no
    assert db.session.get(ArchiveDocument, draft.id, populate_existing=True).archive_no is None


def test_a_view_grant_opens_the_content_read_only(world, docs, login_as):
    """R5: another account manager reads a customer's archive — content included — only under
    an approved grant, and still may not change it."""
    from datetime import timedelta

    from flask import g

    from crm.governance.models import APPROVED, ViewGrant
    from crm.timeutil import utcnow

    url = f"/admin/archive_document/download/?id={docs['c1'].id}"
    c = login_as(world.am2)
    assert c.get(url).status_code == 404
    db.session.add(
        ViewGrant(
            client_id=world.c1.id,
            author_id=world.am2.id,
            reason="接手前了解",
            status=APPROVED,
            ends_at=utcnow() + timedelta(days=3),
        )
    )
    db.session.commit()
    # The grant ids are cached on `g` for a request; this harness shares one app context
    # (and so one `g`) across requests, where production has one per request.
    g.pop("crm_grant_ids", None)
    assert c.get(url).status_code == 200
    assert c.get(f"/admin/archive_document/edit/?id={docs['c1'].id}").status_code == 403


def test_the_account_manager_corrects_an_archived_title_and_both_lines_follow(
    world, docs, login_as
):
    doc = docs["c1"]
    page = login_as(world.am1).get(f"/admin/archive_document/edit/?id={doc.id}")
    assert 'name="category"' not in page.get_data(as_text=True)  # part of the number
    r = login_as(world.am1).post(
        f"/admin/archive_document/edit/?id={doc.id}",
        data={
            "title": "合同-c1（更正）",
            "pages": "4",
            "form": "both",
            "customer_signed": "y",
            "handler": "经办人 张三",
            "room": "A101",
            "cabinet": "3",
            "shelf": "2",
            "box": "17",
        },
    )
    assert r.status_code == 302
    lines = db.session.scalars(
        select(CatalogueLine)
        .where(CatalogueLine.document_id == doc.id)
        .execution_options(populate_existing=True)
    ).all()
    assert {line.title for line in lines} == {"合同-c1（更正）"}
