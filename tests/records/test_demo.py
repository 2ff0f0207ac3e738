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
    months = dict(db.session.execute(select(CommissionStatement.status,
                                            func.count(func.distinct(CommissionStatement.month)))
                                     .group_by(CommissionStatement.status)).all())
    assert months == {"confirmed": 1, "open": 2}
    assert count(CommissionLine, CommissionLine.kind == "adjustment") >= 1
    assert count(IndustryNote) and count(DailyRecord) and count(RecordPromotion)
