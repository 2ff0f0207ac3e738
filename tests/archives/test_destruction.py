"""Issue 16 point 8: a customer's destruction destroys. Afterwards no row of any table, no
audit export and no file holds its name, credit code or phone; the audit events stay with a
mark; a closed volume shows a line where its item was; the destruction record lists what went;
and running the task again does nothing more."""

import json
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, text

from crm.access import set_actor
from crm.archives import services
from crm.archives.models import ArchiveDocument, CatalogueLine
from crm.audit import AuditEvent
from crm.crypto import encrypt
from crm.extensions import db
from crm.governance import retention
from crm.governance.models import ChangeRequest, DeletionRequest, DestructionRecord
from crm.governance.services import change_record
from crm.notifications.delivery import make_robot_messages
from crm.notifications.models import NoticeRobot, Notification, RobotMessage
from crm.notifications.services import notify
from crm.tasks.governance import destroy_expired_deletions
from tests.archives.conftest import index, make_doc


def _text(value) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def rows_holding(values) -> list[tuple[str, str]]:
    """Every (table, column) of the whole database holding one of `values`."""
    found = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)).mappings():
            for column, value in row.items():
                if value is not None and any(v in _text(value) for v in values):
                    found.append((table.name, column))
    return found


def files_holding(root, values) -> list:
    return [
        p
        for p in root.rglob("*")
        if p.is_file() and any(v.encode() in p.read_bytes() for v in values)
    ]


def destroy_c2(world, login_as):
    """The general manager asks, the sales manager approves, the bin period passes."""
    gm = login_as(world.general_manager)
    assert (
        gm.post("/admin/client/delete/", data={"id": world.c2.id, "reason": "客户注销"}).status_code
        == 302
    )
    request = db.session.scalars(select(DeletionRequest)).one()
    login_as(world.sales_manager).post(
        "/admin/deletion_request/decide/", data={"id": request.id, "decision": "approve"}
    )
    db.session.expire_all()
    request = db.session.get(DeletionRequest, request.id)
    assert request.status == "approved"
    request.deleted_at -= timedelta(days=31)
    db.session.commit()
    assert destroy_expired_deletions() == {"destroyed": 1}
    db.session.expire_all()
    return db.session.scalars(select(DestructionRecord)).one()


def c2_archive(world, archive_root):
    """An old complaint in a closed volume (its 10 years are over: it goes with the customer)
    and this year's contract (30 years: it stays), both with a scan on disk."""
    set_actor(None)
    old = make_doc(
        world.c2,
        category="complaints",
        on=date(2010, 3, 1),
        content=f"%PDF-1.4 scan of {world.c2.name}".encode(),
    )
    index(old)
    kept = make_doc(
        world.c2,
        category="contracts",
        on=date(2026, 3, 1),
        content=f"%PDF-1.4 contract of {world.c2.name}".encode(),
    )
    index(kept)
    services.close_year(db.session, 2010)
    db.session.commit()
    return old, kept


def test_after_destruction_nothing_holds_the_customers_name_credit_code_or_phone(
    world, login_as, _archive_root
):
    c2 = world.c2
    values, c2_id = (c2.name, c2.credit_code, c2.phone), c2.id
    old, kept = c2_archive(world, _archive_root)
    old_file, kept_file = services.absolute(old.storage_path), services.absolute(kept.storage_path)
    # A group robot takes the approvals waiting: its item and message name the customer.
    db.session.add(
        NoticeRobot(
            name="销售部群",
            platform="wecom",
            kinds=["change_request"],
            webhook_token=encrypt("http://127.0.0.1:9/hook"),
            active=True,
        )
    )
    # An account manager's change of the phone waits for approval (its diff holds the phone).
    set_actor(world.am2)
    c2.phone = "021-55550000"
    change_record(db.session, c2, "客户换号")
    db.session.commit()
    set_actor(None)
    assert db.session.scalar(select(func.count()).select_from(ChangeRequest)) == 1
    # A notice naming the customer goes to the group too.
    notify(
        db.session,
        [world.sales_manager],
        f"change_request:named:{c2.id}",
        "change_request",
        f"{c2.name}：联系电话变更待批",
        client_id=c2.id,
    )
    db.session.commit()
    assert make_robot_messages(db.session) == 1
    db.session.commit()
    assert c2.name in db.session.scalars(select(RobotMessage.content)).one()
    gm = login_as(world.general_manager)
    before = gm.get("/admin/audit/export/csv/").get_data(as_text=True)
    assert c2.name in before and c2.credit_code in before  # what the fix must remove
    events = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.client_id == c2.id)
    )

    destroy_c2(world, login_as)

    assert rows_holding(values) == []
    assert files_holding(_archive_root, values) == [kept_file]  # kept under retention
    assert not old_file.exists()
    export = gm.get("/admin/audit/export/csv/").get_data(as_text=True)
    assert not any(v in export for v in values)
    # The events stay: who, when and what kind, with the values marked.
    marked = db.session.scalars(select(AuditEvent).where(AuditEvent.client_id == c2_id)).all()
    assert len(marked) >= events  # none removed (the deletion and destruction add theirs)
    create = next(e for e in marked if e.entity == "clients" and e.action == "create")
    # The task writes in the company's language (the screens are Chinese first).
    assert create.changes["name"] == [None, "〔已销毁〕"]
    assert create.changes["credit_code"] == [None, "〔已销毁〕"]
    assert db.session.scalars(select(Notification.title)).all()  # still there, marked
    assert db.session.scalar(select(func.count()).select_from(ChangeRequest)) == 0


def test_a_closed_volume_shows_the_destroyed_item_and_the_record_lists_what_went(
    world, login_as, _archive_root
):
    old, kept = c2_archive(world, _archive_root)
    old_no, kept_no, volume_id = old.archive_no, kept.archive_no, old.volume_id
    name = world.c2.name
    record = destroy_c2(world, login_as)

    [line_paper, line_electronic] = db.session.scalars(
        select(CatalogueLine)
        .where(CatalogueLine.volume_id == volume_id)
        .order_by(CatalogueLine.set_kind)
    ).all()
    for line in (line_paper, line_electronic):
        assert (line.item_no, line.archive_no, line.document_id) == (1, old_no, None)
        assert line.title == f"已销毁——见销毁记录 {record.id}"  # the task's language
        assert line.destruction_id == record.id
    page = login_as(world.archivist).get(f"/admin/archive_volume/details/?id={volume_id}")
    assert f"已销毁——见销毁记录 {record.id}" in page.get_data(as_text=True)

    assert record.detail["documents_destroyed"] == [old_no]
    assert record.detail["documents_kept"] == [kept_no]
    assert record.detail["files_deleted"] == 1
    assert record.detail["rows"]["clients"] == 1
    assert record.detail["rows"]["archive_documents"] == 1
    assert record.detail["rows"]["key_persons"] == 1
    assert record.row_count == sum(record.detail["rows"].values())
    assert name not in json.dumps(record.detail, ensure_ascii=False)
    shown = login_as(world.general_manager).get(f"/admin/destruction/details/?id={record.id}")
    assert old_no in shown.get_data(as_text=True) and kept_no in shown.get_data(as_text=True)


def test_destruction_is_idempotent(world, login_as, _archive_root):
    c2_archive(world, _archive_root)
    record = destroy_c2(world, login_as)
    counts = {
        t.name: db.session.scalar(select(func.count()).select_from(t))
        for t in db.metadata.sorted_tables
    }
    assert destroy_expired_deletions() == {"destroyed": 0}
    request = db.session.get(DeletionRequest, record.request_id)
    again = retention.destroy(db.session, request, datetime(2030, 1, 1))
    db.session.commit()
    assert again.id == record.id
    assert counts == {
        t.name: db.session.scalar(select(func.count()).select_from(t))
        for t in db.metadata.sorted_tables
    }
    assert db.session.execute(text("SELECT count(*) FROM archive_documents")).scalar() == 1
    assert (
        db.session.get(
            ArchiveDocument, record.detail and db.session.scalar(select(ArchiveDocument.id))
        ).client_id
        is None
    )


def test_a_document_deleted_alone_leaves_a_marked_line_and_no_file(world, _archive_root):
    set_actor(None)
    doc = make_doc(world.c1, category="complaints", on=date(2026, 2, 1))
    index(doc)
    doc_id, number, path = doc.id, doc.archive_no, services.absolute(doc.storage_path)
    set_actor(world.sales_manager)
    request = retention.ask_deletion(db.session, [doc], "录入错误")
    db.session.commit()
    set_actor(None)
    retention.destroy_expired(db.session, retention.utcnow() + timedelta(days=31))
    db.session.commit()
    record = db.session.scalars(
        select(DestructionRecord).where(DestructionRecord.request_id == request.id)
    ).one()
    assert not path.exists() and record.detail["documents_destroyed"] == [number]
    lines = db.session.scalars(
        select(CatalogueLine).where(CatalogueLine.archive_no == number)
    ).all()
    assert len(lines) == 2 and {x.destruction_id for x in lines} == {record.id}
    assert {x.document_id for x in lines} == {None}
    assert (
        db.session.execute(
            text("SELECT count(*) FROM archive_documents WHERE id = :i"), {"i": doc_id}
        ).scalar()
        == 0
    )
