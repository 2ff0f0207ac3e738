"""Pure rules: working days, registration deadline, name likeness, the invitation cut-off."""

from datetime import date, datetime

import pytest

from crm.intake import rules
from crm.workdays import WorkCalendar


def test_working_days_skip_weekends_and_holidays():
    calendar = WorkCalendar()
    friday = date(2026, 11, 27)
    assert calendar.add(friday, 1) == date(2026, 11, 30)  # Monday
    assert calendar.add(friday, 5) == date(2026, 12, 4)
    assert WorkCalendar(["2026-12-01"]).add(friday, 5) == date(2026, 12, 7)
    assert calendar.between(friday, date(2026, 12, 4)) == 5
    assert not calendar.is_working(date(2026, 10, 1))  # National Day, by the official calendar


def test_registration_deadline_and_reminder_day():
    calendar = WorkCalendar()
    # First contact on a Wednesday: five working days later is the next Wednesday.
    deadline = rules.registration_deadline(date(2026, 11, 25), 5, calendar)
    assert deadline == date(2026, 12, 2)
    assert rules.reminder_day(deadline, calendar) == date(2026, 12, 1)
    # A Monday deadline is reminded on the Friday before.
    assert rules.reminder_day(date(2026, 11, 30), calendar) == date(2026, 11, 27)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("华东甲贸易有限公司", "华东甲贸易股份有限公司"),
        ("华东甲贸易有限公司", " 华东甲 贸易（有限公司）"),
        ("ＡＢＣ科技有限公司", "abc科技公司"),
        ("Acme Co., Ltd.", "ACME CO LTD"),
    ],
)
def test_near_identical_names_share_a_key(a, b):
    assert rules.name_key(a) == rules.name_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("华东甲贸易有限公司", "华东乙贸易有限公司"),
        ("华东甲贸易有限公司", "华东甲贸易（上海）有限公司"),
    ],
)
def test_different_names_do_not(a, b):
    assert rules.name_key(a) != rules.name_key(b)


def test_a_confirmation_after_the_cut_off_counts_for_the_next_day():
    assert rules.counting_day(datetime(2026, 11, 25, 17, 59), 18) == (date(2026, 11, 25), False)
    assert rules.counting_day(datetime(2026, 11, 25, 18, 0), 18) == (date(2026, 11, 26), True)


def test_on_the_same_counting_day_the_on_time_confirmation_ranks_first():
    late = rules.claim_rank(date(2026, 11, 26), True, datetime(2026, 11, 25, 19), 1)
    on_time = rules.claim_rank(date(2026, 11, 26), False, datetime(2026, 11, 26, 9), 2)
    earlier_day = rules.claim_rank(date(2026, 11, 25), False, datetime(2026, 11, 25, 17), 3)
    assert sorted([late, on_time, earlier_day]) == [earlier_day, on_time, late]
