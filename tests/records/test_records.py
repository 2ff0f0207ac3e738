from datetime import date

import pytest
from sqlalchemy import select

from crm.errors import DomainError, NotAllowed
from crm.extensions import db
from crm.records import services
from crm.records.models import DailyRecord, IndustryNote, RecordPromotion


def note(**kw) -> IndustryNote:
    values = {
        "competitor": "金陵会所",
        "competitor_class": "club",
        "topic": "commission",
        "title": "外联提成上调",
        "content": "会籍销售提成由8%调至12%",
        "noted_on": date(2026, 11, 10),
        "source": "同业交流会",
    }
    values.update(kw)
    row = services.add_note(db.session, IndustryNote(**values))
    db.session.commit()
    return row


def record(**kw) -> DailyRecord:
    values = {
        "kind": "walk_in_complaint",
        "title": "散客投诉停车收费",
        "record_date": date(2026, 11, 12),
        "content": "散客认为停车收费过高",
        "handling": "值班经理解释并赠送停车券",
    }
    values.update(kw)
    row = services.add_daily_record(db.session, DailyRecord(**values))
    db.session.commit()
    return row


# --- industry notes -------------------------------------------------------------------------
def test_notes_are_dated_sourced_and_classed(world, act):
    act(world.am1)
    with pytest.raises(DomainError) as err:
        note(source=" ", competitor_class="bar", noted_on=None)
    assert {"source", "competitor_class", "noted_on"} <= set(err.value.field_errors)
    db.session.rollback()
    assert note().author_id == world.am1.id


def test_notes_are_read_by_their_author_and_the_managers(world, act):
    act(world.am1)
    mine = note()
    act(world.am2)
    theirs = note(competitor="钟山俱乐部", topic="promotion")
    assert db.session.scalars(select(IndustryNote)).all() == [theirs]
    mine.title = "改"
    with pytest.raises(NotAllowed):
        services.update_note(db.session, mine)
    db.session.rollback()
    for manager in (world.sales_manager, world.general_manager):
        act(manager)
        assert len(db.session.scalars(select(IndustryNote)).all()) == 2
    act(world.rm_east)  # a regional manager is not among the readers of all notes
    assert db.session.scalars(select(IndustryNote)).all() == []


# --- daily records --------------------------------------------------------------------------
def test_a_sales_report_says_its_period(world, act):
    act(world.clerk)
    with pytest.raises(DomainError) as err:
        record(kind="sales_report", title="周报", handling=None)
    assert "period" in err.value.field_errors
    db.session.rollback()
    report = record(kind="sales_report", title="周报", period="weekly", handling=None)
    assert report.period == "weekly" and report.author_id == world.clerk.id
    minutes = record(kind="minutes", title="销售例会", period="weekly", handling=None)
    assert minutes.period is None  # a period belongs to reports and plans only


def test_promoting_a_record_files_it_in_the_customers_archive(world, act):
    act(world.am1)
    walk_in = record()
    promotion = services.promote_record(db.session, walk_in, world.c1, "complaints")
    db.session.commit()
    assert (promotion.record_id, promotion.client_id, promotion.category) == (
        walk_in.id,
        world.c1.id,
        "complaints",
    )
    assert (promotion.title, promotion.kind, promotion.record_date) == (
        walk_in.title,
        walk_in.kind,
        walk_in.record_date,
    )
    assert promotion.promoted_by_id == world.am1.id
    try:
        from crm.archives.models import ArchiveDocument
    except ImportError:
        assert promotion.archive_document_id is None
    else:
        doc = db.session.get(ArchiveDocument, promotion.archive_document_id)
        assert (doc.client_id, doc.category, doc.title) == (
            world.c1.id,
            "complaints",
            walk_in.title,
        )
    with pytest.raises(NotAllowed):  # not am1's customer
        services.promote_record(db.session, walk_in, world.c3, "complaints")
    with pytest.raises(DomainError):
        services.promote_record(db.session, walk_in, world.c1, "misc")


def test_only_the_author_or_a_manager_promotes_and_only_in_scope(world, act):
    act(world.am1)
    walk_in = record()
    act(world.am2)  # c2 is am2's, but the record is am1's
    with pytest.raises(NotAllowed):
        services.promote_record(db.session, walk_in, world.c2, "complaints")
    act(world.service)  # service keeps daily records but does not file them
    own = record(title="客服来电记录")
    with pytest.raises(NotAllowed):
        services.promote_record(db.session, own, world.c1, "complaints")
    act(world.sales_manager)
    assert services.promote_record(db.session, own, world.c3, "basic").client_id == world.c3.id


# --- through the admin ----------------------------------------------------------------------
def test_screens_follow_author_scope(world, act, login_as):
    act(world.am1)
    mine, walk_in = note(), record()
    act(None)
    am2 = login_as(world.am2)
    assert am2.get(f"/admin/industry_note/details/?id={mine.id}").status_code == 404
    assert am2.get(f"/admin/daily_record/details/?id={walk_in.id}").status_code == 404
    assert "金陵会所" not in am2.get("/admin/industry_note/").get_data(as_text=True)
    manager = login_as(world.sales_manager)
    assert "金陵会所" in manager.get("/admin/industry_note/").get_data(as_text=True)
    assert login_as(world.finance).get("/admin/industry_note/").status_code == 403
    am1 = login_as(world.am1)
    assert am1.get(f"/admin/industry_note/details/?id={mine.id}").status_code == 200


def test_promote_from_the_record_page_and_link_back(world, act, login_as):
    act(world.am1)
    walk_in = record()
    act(None)
    am1 = login_as(world.am1)
    am1.post(
        "/admin/daily_record/promote/",
        data={"id": walk_in.id, "client_code": world.c3.code, "category": "complaints"},
    )
    assert db.session.scalars(select(RecordPromotion)).all() == []  # c3: no such customer
    am1.post(
        "/admin/daily_record/promote/",
        data={"id": walk_in.id, "client_code": world.c1.code.lower(), "category": "complaints"},
    )
    assert db.session.scalars(select(RecordPromotion)).one().client_id == world.c1.id
    listing = am1.get("/admin/record_promotion/").get_data(as_text=True)
    assert f"/admin/daily_record/details/?id={walk_in.id}" in listing
    assert walk_in.title not in login_as(world.am3).get("/admin/record_promotion/").get_data(
        as_text=True
    )


def test_create_a_note_on_screen(world, login_as):
    c = login_as(world.am3)
    r = c.post(
        "/admin/industry_note/new/",
        data={
            "competitor": "北方大酒店",
            "competitor_class": "hotel",
            "topic": "promotion",
            "title": "冬季套餐",
            "content": "双人套餐八折",
            "noted_on": "2026-11-01",
            "source": "官网",
        },
    )
    assert r.status_code == 302
    assert db.session.scalars(select(IndustryNote)).one().author_id == world.am3.id
