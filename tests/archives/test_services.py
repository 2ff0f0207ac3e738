"""Filing, numbering, volumes, both catalogues, indexing, integrity — through the services."""

import hashlib
import io
from datetime import date

import pytest
from sqlalchemy import func, select

from crm.access import set_actor
from crm.archives import services
from crm.archives.models import ArchiveDocument, ArchiveFlag, ArchiveVolume, CatalogueLine
from crm.audit import AuditEvent
from crm.errors import DomainError, NotAllowed
from crm.extensions import db
from crm.notifications.models import Notification
from crm.settings import Setting
from tests.archives.conftest import index, make_doc


def lines_of(doc):
    return {
        line.set_kind: line
        for line in db.session.scalars(
            select(CatalogueLine).where(CatalogueLine.document_id == doc.id)
        )
    }


# --- sign-off (R4) ----------------------------------------------------------------------
def test_a_draft_cannot_be_filed_until_all_three_sign_offs(world):
    doc = make_doc(world.c1, signed=False)
    for missing, fill in (
        ("signature", lambda: setattr(doc, "customer_signed", True)),
        ("handler", lambda: setattr(doc, "handler", "张三")),
        ("approval", lambda: services.approve_document(db.session, doc)),
    ):
        with pytest.raises(DomainError, match=missing):
            services.file_document(db.session, doc)
        fill()
    services.file_document(db.session, doc)
    assert doc.status == "filed"


def test_the_archivist_cannot_bind_a_draft(world):
    doc = make_doc(world.c1, signed=False)
    set_actor(world.archivist)
    with pytest.raises(DomainError, match="draft"):
        services.bind_now(db.session, doc)
    db.session.rollback()
    assert db.session.get(ArchiveDocument, doc.id).archive_no is None


def test_only_the_direct_leader_approves(world):
    doc = make_doc(world.c1, signed=False)
    for outsider in (world.am1, world.rm_north, world.archivist):
        set_actor(outsider)
        with pytest.raises(NotAllowed):
            services.approve_document(db.session, doc)
    set_actor(world.rm_east)
    services.approve_document(db.session, doc)
    assert doc.approved_by_id == world.rm_east.id and doc.approved_at is not None


def test_a_changed_draft_needs_a_new_approval_and_a_filed_sign_off_stays(world):
    doc = make_doc(world.c1, signed=False)
    doc.customer_signed, doc.handler = True, "张三"
    services.approve_document(db.session, doc)
    db.session.commit()
    doc.pages = 9
    services.update_document(db.session, doc)
    assert doc.approved_at is None and services.missing_sign_off(doc) == ["approved"]
    services.approve_document(db.session, doc)
    services.file_document(db.session, doc)
    db.session.commit()
    doc.customer_signed = False
    with pytest.raises(DomainError, match="sign-off"):
        services.update_document(db.session, doc)


def test_the_archivist_may_not_file_an_account_managers_draft(world):
    doc = make_doc(world.c1, signed=False)
    doc.customer_signed, doc.handler = True, "张三"
    services.approve_document(db.session, doc)
    set_actor(world.archivist)
    with pytest.raises(NotAllowed):
        services.file_document(db.session, doc)


def test_retention_follows_the_category_setting(world):
    db.session.add(Setting(key="archive_retention", value={"contracts": "Y"}))
    db.session.commit()
    assert make_doc(world.c1, "contracts").retention == "Y"
    assert make_doc(world.c1, "industry").retention == "D10"  # not in the setting: shortest


# --- numbers and volumes (R3) ------------------------------------------------------------
def test_numbers_are_gapless_per_volume_and_volumes_per_manager_category_year(world):
    docs = [make_doc(world.c1) for _ in range(3)] + [make_doc(world.c2)]
    docs.append(make_doc(world.c1, "basic"))
    docs.append(make_doc(world.c1, on=date(2025, 12, 31)))
    for doc in docs:
        index(doc)
    numbers = [d.archive_no for d in docs]
    assert numbers[:3] == [
        "Z001-2026-D30-HT-001-0001",
        "Z001-2026-D30-HT-001-0002",
        "Z001-2026-D30-HT-001-0003",
    ]
    assert numbers[3] == "Z001-2026-D30-HT-002-0001"  # am2's own volume of contracts
    assert numbers[4] == "Z001-2026-Y-JC-001-0001"
    assert numbers[5] == "Z001-2025-D30-HT-001-0001"
    assert len(set(numbers)) == len(numbers)
    volume = db.session.get(ArchiveVolume, docs[0].volume_id)
    assert (volume.year, volume.category, volume.manager_id, volume.item_count) == (
        2026,
        "contracts",
        world.am1.id,
        3,
    )


def test_the_fonds_code_is_a_setting(world):
    db.session.add(Setting(key="archive_fonds_code", value="Q7"))
    db.session.commit()
    doc = make_doc(world.c1)
    index(doc)
    assert doc.archive_no.startswith("Q7-2026-")


def test_a_failed_filing_gives_its_number_back(world):
    first, second = make_doc(world.c1), make_doc(world.c1)
    services.index_document(db.session, first.id)
    db.session.rollback()  # e.g. the worker died before committing
    index(second)
    index(first)
    assert (second.item_no, first.item_no) == (1, 2)


def test_a_closed_volume_accepts_nothing_more(world):
    early, late = make_doc(world.c1, on=date(2025, 5, 1)), make_doc(world.c1, on=date(2025, 6, 1))
    index(early)
    assert services.close_year(db.session, 2025) == 1
    db.session.commit()
    with pytest.raises(DomainError, match="closed"):
        services.index_document(db.session, late.id)
    db.session.rollback()
    refused = make_doc(world.c1, on=date(2025, 7, 1), signed=False)
    refused.customer_signed, refused.handler = True, "张三"
    services.approve_document(db.session, refused)
    with pytest.raises(DomainError, match="closed"):
        services.file_document(db.session, refused)
    db.session.rollback()
    volume = db.session.get(ArchiveVolume, early.volume_id)
    assert (volume.status, volume.item_count) == ("closed", 1)
    assert services.close_year(db.session, 2025) == 0  # nothing left open
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.entity == "archive_volumes", AuditEvent.action == "close")
        )
        == 1
    )


def test_only_the_archivist_or_a_manager_closes_volumes(world):
    index(make_doc(world.c1))
    volume = db.session.scalars(select(ArchiveVolume)).one()
    set_actor(world.am1)
    with pytest.raises(NotAllowed):
        services.close_volume(db.session, volume)
    set_actor(world.archivist)
    assert services.close_volume(db.session, volume)


# --- both sets (R9) -----------------------------------------------------------------------
def test_both_catalogues_point_at_each_other(world, _archive_root):
    doc = make_doc(world.c1, content=b"%PDF-1.4 signed contract")
    index(doc)
    lines = lines_of(doc)
    assert set(lines) == {"paper", "electronic"}
    paper, electronic = lines["paper"], lines["electronic"]
    assert doc.storage_path == f"2026/HT/{doc.id:08d}.pdf"
    assert (_archive_root / doc.storage_path).read_bytes() == b"%PDF-1.4 signed contract"
    assert doc.sha256 == hashlib.sha256(b"%PDF-1.4 signed contract").hexdigest() and doc.size == 24
    assert paper.remarks == (
        f"Electronic file {doc.archive_no}-E, stored at 2026/HT/{doc.id:08d}.pdf"
    )
    assert electronic.remarks == (
        f"Paper {doc.archive_no} at room A101, cabinet 3, shelf 2, box 17"
    )
    assert paper.item_no == electronic.item_no == doc.item_no == 1
    assert paper.volume_id == electronic.volume_id == doc.volume_id


def test_moving_the_paper_rewrites_the_electronic_remarks(world):
    doc = make_doc(world.c1)
    index(doc)
    set_actor(world.archivist)
    services.set_paper_location(db.session, doc, "B202", "1", "1", "9")
    db.session.commit()
    assert lines_of(doc)["electronic"].remarks.endswith("room B202, cabinet 1, shelf 1, box 9")


def test_single_set_documents_have_one_line(world):
    paper = make_doc(world.c1, form="paper")
    electronic = make_doc(world.c1, form="electronic")
    index(paper)
    index(electronic)
    assert (
        set(lines_of(paper)) == {"paper"}
        and lines_of(paper)["paper"].remarks == "No electronic copy"
    )
    assert set(lines_of(electronic)) == {"electronic"}
    assert lines_of(electronic)["electronic"].remarks == "No paper copy"
    assert (paper.dual_status, electronic.dual_status) == ("paper_only", "electronic_only")


def test_a_scan_added_later_joins_the_electronic_set(world):
    doc = make_doc(world.c1, content=None)
    index(doc)
    assert doc.dual_status == "missing_electronic"
    assert lines_of(doc)["paper"].remarks == "No electronic copy"
    services.attach_file(
        db.session, doc, io.BytesIO(b"%PDF-1.4 scan"), "late.pdf", "application/pdf"
    )
    db.session.commit()
    assert doc.dual_status == "linked"
    assert lines_of(doc)["paper"].remarks.startswith(f"Electronic file {doc.archive_no}-E")
    with pytest.raises(DomainError):  # the archived file is never replaced
        services.attach_file(db.session, doc, io.BytesIO(b"%PDF-1.4 other"), "x.pdf", None)


# --- indexing is idempotent ----------------------------------------------------------------
def test_indexing_twice_changes_nothing(world, _archive_root):
    doc = make_doc(world.c1)
    first = index(doc)
    before = {k: (line.id, line.remarks) for k, line in lines_of(doc).items()}
    second = index(doc)
    assert first == second
    assert {k: (line.id, line.remarks) for k, line in lines_of(doc).items()} == before
    assert db.session.scalar(select(func.count()).select_from(CatalogueLine)) == 2
    assert db.session.get(ArchiveVolume, doc.volume_id).item_count == 1
    assert sorted(p.name for p in (_archive_root / "2026" / "HT").iterdir()) == [
        f"{doc.id:08d}.pdf"
    ]


def test_a_rerun_after_the_file_was_moved_but_not_committed_finds_it(world, _archive_root):
    doc = make_doc(world.c1, content=b"%PDF-1.4 abc")
    services.index_document(db.session, doc.id)  # moved the upload into place…
    db.session.rollback()  # …then died before committing
    assert doc.incoming_path is not None and not (_archive_root / doc.incoming_path).exists()
    index(doc)
    assert doc.sha256 == hashlib.sha256(b"%PDF-1.4 abc").hexdigest()
    assert doc.dual_status == "linked"


def test_the_tasks_index_what_a_queue_outage_left(world):
    from crm.tasks.archives import nightly_integrity

    doc = make_doc(world.c1)
    draft = make_doc(world.c1, signed=False)
    nightly_integrity.run()
    db.session.expire_all()
    assert db.session.get(ArchiveDocument, doc.id).archive_no is not None
    assert db.session.get(ArchiveDocument, draft.id).archive_no is None


# --- integrity sweep -------------------------------------------------------------------------
def test_changed_and_missing_files_are_flagged_once_to_the_archivists(world, _archive_root):
    changed, missing, sound = make_doc(world.c1), make_doc(world.c2), make_doc(world.c3)
    for doc in (changed, missing, sound):
        index(doc)
    (_archive_root / changed.storage_path).write_bytes(b"tampered")
    (_archive_root / missing.storage_path).unlink()
    result = services.check_integrity(db.session, share_percent=100)
    db.session.commit()
    assert (result["checked"], result["changed"], result["missing"]) == (3, 1, 1)
    flags = {(f.kind, f.document_id) for f in db.session.scalars(select(ArchiveFlag))}
    assert flags == {("checksum_changed", changed.id), ("file_missing", missing.id)}
    again = services.check_integrity(db.session, share_percent=100)
    db.session.commit()
    assert (again["changed"], again["missing"]) == (0, 0)
    inbox = db.session.scalars(select(Notification)).all()
    assert len(inbox) == 2 and {n.recipient_id for n in inbox} == {world.archivist.id}


def test_documents_lacking_one_of_their_two_sets_are_flagged(world):
    no_paper = make_doc(world.c1, location=None)
    no_file = make_doc(world.c1, content=None)
    paper_only = make_doc(world.c1, form="paper")
    for doc in (no_paper, no_file, paper_only):
        index(doc)
    services.check_integrity(db.session, share_percent=100)
    db.session.commit()
    flags = {(f.kind, f.document_id) for f in db.session.scalars(select(ArchiveFlag))}
    assert flags == {("missing_paper", no_paper.id), ("missing_electronic", no_file.id)}


def test_the_sweep_rotates_through_the_files(world):
    docs = [make_doc(world.c1) for _ in range(4)]
    for doc in docs:
        index(doc)
    seen = []
    for _ in range(4):
        before = {d.id: d.checked_at for d in db.session.scalars(select(ArchiveDocument))}
        services.check_integrity(db.session, share_percent=25)
        db.session.commit()
        seen += [
            d.id
            for d in db.session.scalars(select(ArchiveDocument))
            if d.checked_at != before[d.id]
        ]
    assert sorted(seen) == sorted(d.id for d in docs)


# --- reading content (R5) --------------------------------------------------------------------
def test_reading_a_file_is_scoped_and_audited(world):
    doc = make_doc(world.c1)
    index(doc)
    for reader in (world.am1, world.rm_east, world.sales_manager):
        set_actor(reader)
        with services.read_file(db.session, doc) as stream:
            assert stream.read() == b"%PDF-1.4 contract"
    for outsider in (world.archivist, world.am2, world.rm_north, world.finance):
        set_actor(outsider)
        with pytest.raises(NotAllowed):
            services.read_file(db.session, doc)
    db.session.commit()
    reads = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "read_file")).all()
    assert sorted(e.actor_id for e in reads) == sorted(
        u.id for u in (world.am1, world.rm_east, world.sales_manager)
    )
    assert {e.client_id for e in reads} == {world.c1.id}


def test_the_archivist_changes_locations_only(world):
    doc = make_doc(world.c1)
    set_actor(world.archivist)
    doc.title = "rewritten"
    with pytest.raises(NotAllowed):
        services.update_document(db.session, doc)
    db.session.rollback()
    doc = db.session.get(ArchiveDocument, doc.id)
    doc.box = "99"
    services.update_document(db.session, doc)
    assert doc.box == "99"


def test_an_archived_document_keeps_what_its_number_is_made_of(world):
    doc = make_doc(world.c1)
    index(doc)
    doc.category = "basic"
    with pytest.raises(DomainError):
        services.update_document(db.session, doc)
    db.session.rollback()
    doc = db.session.get(ArchiveDocument, doc.id)
    doc.title = "Contract, corrected title"
    services.update_document(db.session, doc, "typo")
    db.session.commit()
    assert {line.title for line in lines_of(doc).values()} == {"Contract, corrected title"}
