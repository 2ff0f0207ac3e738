"""`crm review …` runs what beat runs, prints what it made, and is safe to run twice."""

from datetime import date

from sqlalchemy import func, select

from crm.extensions import db
from crm.reviews.models import ReclassProposal, WatchEntry
from tests.reviews.support import Shop


def _run(app, *args):
    result = app.test_cli_runner().invoke(args=["crm", "review", *args])
    # the last line is the command's; the log lines before it are the logger's
    return result.exit_code, result.output.strip().splitlines()[-1] + "\n"


def test_monthly_twice_makes_one_list(app, world):
    world.c1.level = "K"
    db.session.commit()
    assert _run(app, "monthly", "--period", "2026-06") == (0, "month=2026-06 new=1 total=1\n")
    assert _run(app, "monthly", "--period", "2026-06") == (0, "month=2026-06 new=0 total=1\n")
    assert db.session.execute(select(func.count()).select_from(WatchEntry)).scalar() == 1
    code, out = _run(app, "monthly", "--period", "2026Q2")
    assert code != 0 and "not a month" in out


def test_quarterly_twice_proposes_once(app, world):
    Shop().sell(world.c1, date(2026, 5, 1), "600000.00")
    db.session.commit()
    assert _run(app, "quarterly", "--period", "2026Q2") == (0, "quarter=2026Q2 new=1 pending=1\n")
    assert _run(app, "quarterly", "--period", "2026Q2") == (0, "quarter=2026Q2 new=0 pending=1\n")
    assert db.session.execute(select(func.count()).select_from(ReclassProposal)).scalar() == 1


def test_half_year_and_year_print_their_headline(app, world):
    shop = Shop()
    shop.sell(world.c1, date(2025, 3, 1), "100.00")
    shop.sell(world.c1, date(2025, 8, 1), "300.00")
    shop.sell(world.c2, date(2025, 9, 1), "50.00")
    db.session.commit()
    code, out = _run(app, "half-year", "--period", "2025H2")
    assert code == 0
    assert out == (
        "period=2025H2 total=350.00 previous_total=100.00 growth_percent=250.0 "
        "customers=2 new=1 lost=0 returning=0\n"
    )
    assert _run(app, "half-year", "--period", "2025H2") == (0, out)
    code, out = _run(app, "year", "--period", "2025")
    assert code == 0 and out.startswith(
        "period=2025 total=450.00 previous_total=0.00 growth_percent=None customers=2 new=2"
    )
    assert _run(app, "year", "--period", "2025-01")[0] != 0
