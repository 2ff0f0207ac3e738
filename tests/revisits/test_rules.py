"""R14's plan: monthly in the first year, then by the cadence, never rarer than yearly."""

from datetime import date

from crm.revisits.rules import add_months, greeting_on, plan_dates

ANCHOR = date(2025, 1, 31)


def test_months_keep_the_day_or_take_the_month_s_last():
    assert add_months(ANCHOR, 1) == date(2025, 2, 28)
    assert add_months(ANCHOR, 13) == date(2026, 2, 28)
    assert add_months(date(2025, 11, 15), 3) == date(2026, 2, 15)


def test_monthly_in_the_first_year_then_quarterly():
    days = plan_dates(ANCHOR, ANCHOR, date(2026, 12, 31))
    first_year = [d for d in days if d <= date(2026, 1, 31)]
    assert len(first_year) == 12 and first_year[0] == date(2025, 2, 28)
    assert [d for d in days if d > date(2026, 1, 31)] == [
        date(2026, 4, 30),
        date(2026, 7, 31),
        date(2026, 10, 31),
    ]


def test_the_cadence_is_never_rarer_than_yearly():
    days = plan_dates(ANCHOR, date(2026, 2, 1), date(2029, 12, 31), 1, 24)
    assert days == [date(2027, 1, 31), date(2028, 1, 31), date(2029, 1, 31)]


def test_only_the_window_is_returned():
    assert plan_dates(ANCHOR, date(2026, 4, 1), date(2026, 5, 1)) == [date(2026, 4, 30)]


def test_greeting_days_and_29_february():
    assert greeting_on(date(1980, 11, 25), date(2026, 11, 25))
    assert not greeting_on(date(1980, 11, 24), date(2026, 11, 25))
    assert greeting_on(date(1980, 2, 29), date(2026, 2, 28))
    assert not greeting_on(date(1980, 2, 29), date(2028, 2, 28))
    assert greeting_on(date(1980, 2, 29), date(2028, 2, 29))
