"""Issue 15 point 7: the home pages' credit figures come from the exposure summary
(crm.credit.exposure), which counts what the credit check counts, per region and account
manager, and which each reader sees through the rollup scope."""

from sqlalchemy import func, select, update

from crm.access import set_actor
from crm.clients.models import Client
from crm.credit import checks, exposure, ledger
from crm.credit.models import CreditExposure
from crm.extensions import db
from crm.tasks import BEAT_SCHEDULE
from crm.tasks import credit as tasks
from tests.home.test_charts import _json, data  # noqa: F401 — the charts' crafted world


def _totals_as(app, user) -> dict:
    with app.test_request_context():
        set_actor(user)
        return exposure.totals(db.session)


def test_the_summary_counts_what_the_check_counts(data, app):  # noqa: F811
    summary = checks.check_summary(db.session)
    totals = _totals_as(app, data.finance)
    for t in checks.thresholds():
        assert totals.get(exposure.use_measure(t), (0, 0))[0] == summary[f"over_{t}"], t
    assert totals[exposure.use_measure(checks.OVER_LIMIT)][0] == summary["over_limit"] == 1
    assert totals[exposure.OVERDUE][0] == summary["overdue_customers"] == 1
    aging = ledger.aging_totals(db.session)
    for bucket, amount in aging.items():
        if bucket != "total":
            assert totals.get(exposure.age_measure(bucket), (0, 0))[1] == amount, bucket


def test_each_reader_sees_the_figures_of_her_own_customers(data, app):  # noqa: F811
    am1 = _totals_as(app, data.am1)  # c1: owes 850 of 1000, a charge overdue
    assert am1[exposure.use_measure(80)][0] == 1
    assert am1[exposure.use_measure(90)][0] == 0
    assert am1[exposure.OVERDUE][0] == 1
    am2 = _totals_as(app, data.am2)  # c2: owes 200 of 1000
    assert am2.get(exposure.use_measure(80), (0, 0))[0] == 0
    assert am2.get(exposure.OVERDUE, (0, 0))[0] == 0
    everyone = _totals_as(app, data.sales_manager)
    assert everyone[exposure.use_measure(80)][0] == 2  # c1 and c3


def test_a_refresh_follows_the_ledger_and_the_owners(data, app):  # noqa: F811
    rows = db.session.scalar(select(func.count()).select_from(CreditExposure))
    exposure.refresh(db.session)
    exposure.refresh(db.session)  # the same key twice is one row
    assert db.session.scalar(select(func.count()).select_from(CreditExposure)) == rows
    db.session.execute(update(Client).where(Client.id == data.c1.id).values(owner_id=data.am2.id))
    db.session.commit()
    assert _totals_as(app, data.am1)[exposure.OVERDUE][0] == 1  # until it is counted again
    tasks.refresh_exposure()  # the hourly task
    assert exposure.OVERDUE not in _totals_as(app, data.am1)  # her group is gone
    assert _totals_as(app, data.am2)[exposure.OVERDUE][0] == 1
    assert "crm.tasks.credit.refresh_exposure" in {e["task"] for e in BEAT_SCHEDULE.values()}


def test_the_charts_say_when_they_were_counted(data, login_as):  # noqa: F811
    c = login_as(data.finance)
    for name in ("credit_use", "credit_aging"):
        assert "统计于" in _json(c, name)["note"]
    db.session.execute(CreditExposure.__table__.delete())
    db.session.commit()
    chart = _json(c, "credit_use")
    assert chart["note"] == "尚未统计" and sum(chart["series"][0]["data"]) == 0
