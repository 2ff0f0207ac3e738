"""The reviews' screens: scoped lists, the owner's record, the sales manager's decisions, the
analysis as a screen, .xlsx and PDF."""

from datetime import date
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import select

from crm.clients.models import Client
from crm.extensions import db
from crm.reviews import quarterly, watch
from crm.reviews.consumption import Period, rebuild
from crm.reviews.models import ReclassProposal, WatchEntry
from tests.reviews.support import Shop


def _listed(world):
    for c in (world.c1, world.c2, world.c3):
        c.level = "K"
    db.session.commit()
    watch.make_list(db.session, Period.parse("2026-06"), date(2026, 6, 1))
    db.session.commit()


def test_an_account_manager_sees_and_works_only_her_entries(world, login_as):
    _listed(world)
    mine = db.session.scalars(select(WatchEntry).where(WatchEntry.client_id == world.c1.id)).one()
    other = db.session.scalars(select(WatchEntry).where(WatchEntry.client_id == world.c3.id)).one()
    am = login_as(world.am1)
    page = am.get("/admin/watch_list/").get_data(as_text=True)
    assert world.c1.name in page and world.c3.name not in page
    assert "重点客户（K级）" in page
    assert am.get(f"/admin/watch_list/edit/?id={other.id}").status_code == 404
    r = am.post(f"/admin/watch_list/edit/?id={mine.id}", data={"action_taken": "上门拜访"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(WatchEntry, mine.id).action_taken == "上门拜访"
    untouched = am.get("/admin/watch_list/?flt0_1=1").get_data(as_text=True)
    assert world.c1.name not in untouched
    assert am.post("/admin/watch_list/run/").status_code == 403
    rm = login_as(world.rm_east).get("/admin/watch_list/").get_data(as_text=True)
    assert world.c1.name in rm and world.c2.name in rm and world.c3.name not in rm
    assert login_as(world.finance).get("/admin/watch_list/").status_code == 403
    assert login_as(world.am1).get("/admin/watch_list/?flt0_0=garbage").status_code == 200


def test_the_sales_manager_decides_one_or_a_batch(world, login_as):
    Shop().sell(world.c1, date(2026, 5, 1), "600000.00")
    Shop().sell(world.c2, date(2026, 5, 1), "150000.00")
    db.session.commit()
    quarterly.propose(db.session, Period.parse("2026Q2"))
    db.session.commit()
    ids = db.session.scalars(select(ReclassProposal.id).order_by(ReclassProposal.id)).all()
    assert len(ids) == 2
    am = login_as(world.am1)
    assert (
        am.post(
            "/admin/reclass/decide/", data={"ids": ids[0], "reason": "x", "decision": "approve"}
        ).status_code
        == 403
    )
    sm = login_as(world.sales_manager)
    r = sm.post("/admin/reclass/action/", data={"action": "approve", "rowid": ids})
    assert r.status_code == 302 and "/admin/reclass/batch/" in r.headers["Location"]
    batch = sm.get(r.headers["Location"]).get_data(as_text=True)
    assert world.c1.name in batch and world.c2.name in batch
    r = sm.post("/admin/reclass/decide/", data={"ids": ids, "reason": "", "decision": "approve"})
    db.session.expire_all()
    assert db.session.get(Client, world.c1.id).level == "B"  # no reason, no change
    sm.post(
        "/admin/reclass/decide/", data={"ids": ids, "reason": "季度分析", "decision": "approve"}
    )
    db.session.expire_all()
    assert (
        db.session.get(Client, world.c1.id).level,
        db.session.get(Client, world.c2.id).level,
    ) == ("K", "A")
    details = sm.get(f"/admin/reclass/details/?id={ids[0]}").get_data(as_text=True)
    assert "B → K" in details
    assert world.c2.name not in am.get("/admin/reclass/").get_data(as_text=True)


def test_the_analysis_screen_xlsx_and_pdf(world, login_as):
    shop = Shop()
    shop.sell(world.c1, date(2025, 8, 1), "1234.50")
    shop.sell(world.c3, date(2025, 8, 1), "99.00")
    db.session.commit()
    rebuild(db.session)
    db.session.commit()
    am = login_as(world.am1)
    page = am.get("/admin/review_analysis/?kind=half-year&period=2025H2").get_data(as_text=True)
    assert "1,234.50" in page and "99.00" not in page
    bad = am.get("/admin/review_analysis/?kind=year&period=2025Q1")
    assert bad.status_code == 200 and "2025Q1" in bad.get_data(as_text=True)
    book = am.get("/admin/review_analysis/analysis.xlsx?kind=year&period=2025")
    assert book.status_code == 200
    sheets = load_workbook(BytesIO(book.data)).worksheets
    assert [c.value for c in sheets[0][2]][1] == "1,234.50"
    pdf = login_as(world.finance).get("/admin/review_analysis/analysis.pdf?kind=year&period=2025")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert login_as(world.clerk).get("/admin/review_analysis/").status_code == 403
