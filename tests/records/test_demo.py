import re

from sqlalchemy import func, select

from crm.commissions.models import CommissionLine, CommissionStatement, SalesRecord
from crm.complaints.models import Complaint, ComplaintHandover, Discount, Withdrawal
from crm.contracts.models import Contract
from crm.demo import seed_demo
from crm.extensions import db
from crm.records.models import DailyRecord, IndustryNote, RecordPromotion


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_demo_fills_every_screen_of_the_archive_categories(ctx):
    seed_demo(db.session, n_clients=40)
    db.session.commit()
    statuses = set(db.session.scalars(select(Contract.status)))
    assert statuses == {"draft", "signed", "in_force", "ended", "cancelled"}
    assert count(Complaint) and count(ComplaintHandover) and count(Withdrawal)
    assert set(db.session.scalars(select(Discount.status))) == {"approved", "pending"}
    assert count(Discount, Discount.status == "approved", Discount.decided_by_id.is_not(None))
    assert count(SalesRecord) >= 30
    months = dict(
        db.session.execute(
            select(
                CommissionStatement.status, func.count(func.distinct(CommissionStatement.month))
            ).group_by(CommissionStatement.status)
        ).all()
    )
    assert months == {"confirmed": 1, "open": 2}
    assert count(CommissionLine, CommissionLine.kind == "adjustment") >= 1
    assert count(IndustryNote) and count(DailyRecord) and count(RecordPromotion)


ENDPOINTS = [
    "contract",
    "complaint",
    "discount",
    "withdrawal",
    "sale",
    "commission_statement",
    "inviter",
    "scheme",
    "promoter",
    "industry_note",
    "daily_record",
    "record_promotion",
]
EDITABLE = {"contract", "complaint", "sale", "scheme", "promoter", "industry_note", "daily_record"}


def test_every_screen_opens_filled_for_the_sales_manager(app, ctx):
    seed_demo(db.session, n_clients=40)
    db.session.commit()
    c = app.test_client()
    assert (
        c.post("/login", data={"username": "sales_mgr", "password": "demo-pass-2026"}).status_code
        == 302
    )
    for endpoint in ENDPOINTS:
        page = c.get(f"/admin/{endpoint}/")
        assert page.status_code == 200, endpoint
        body = page.get_data(as_text=True)
        ids = set(re.findall(rf"/admin/{endpoint}/details/\?id=(\d+)", body))
        ids |= set(re.findall(r'name="rowid" value="(\d+)"', body))
        assert ids, f"{endpoint} is empty"
        row = sorted(ids)[0]
        assert c.get(f"/admin/{endpoint}/details/?id={row}").status_code == 200, endpoint
        if endpoint in EDITABLE:
            assert c.get(f"/admin/{endpoint}/edit/?id={row}").status_code == 200, endpoint
    for endpoint in (
        "contract",
        "complaint",
        "sale",
        "industry_note",
        "daily_record",
        "scheme",
        "promoter",
        "withdrawal",
        "inviter",
    ):
        assert c.get(f"/admin/{endpoint}/new/").status_code == 200, endpoint
    client_id = db.session.scalar(select(Contract.client_id))
    card = c.get(f"/admin/client/details/?id={client_id}").get_data(as_text=True)
    assert 'id="contracts"' in card
