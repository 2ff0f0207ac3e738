from datetime import date
from decimal import Decimal

import pytest

from crm.credit import rules
from crm.credit.rules import Month

D = Decimal
GRADES = ["C", "B", "A", "AA", "AAA"]


def test_fifo_pays_the_oldest_charge_first_and_keeps_the_rest_open():
    out = rules.allocate_fifo(
        [(1, D("100")), (2, D("50")), (3, D("30"))], [(10, D("120")), (11, D("40"))]
    )
    assert out == [(10, 1, D("100")), (10, 2, D("20")), (11, 2, D("30")), (11, 3, D("10"))]


def test_fifo_leaves_an_overpayment_unallocated():
    assert rules.allocate_fifo([(1, D("10"))], [(5, D("25"))]) == [(5, 1, D("10"))]
    assert rules.allocate_fifo([], [(5, D("25"))]) == []


@pytest.mark.parametrize(
    "days,bucket",
    [
        (-5, "not_due"),
        (0, "not_due"),
        (1, "d1_30"),
        (30, "d1_30"),
        (31, "d31_60"),
        (60, "d31_60"),
        (61, "d61_90"),
        (90, "d61_90"),
        (91, "d90_plus"),
    ],
)
def test_aging_buckets(days, bucket):
    assert rules.aging_bucket(days) == bucket


def test_utilisation():
    assert rules.utilisation(D("8500"), D("10000")) == D("85.00")
    assert rules.utilisation(D("0"), D("0")) is None
    assert rules.utilisation(D("1"), None) == D("Infinity")


def test_crossing_moves_notify_on_the_way_up_and_rearm_below():
    assert rules.crossing_moves(D("85"), [80, 90], {}) == ([80], [])
    assert rules.crossing_moves(D("85"), [80, 90], {80: True}) == ([], [])
    assert rules.crossing_moves(D("95"), [80, 90], {80: True}) == ([90], [])
    assert rules.crossing_moves(D("79.99"), [80, 90], {80: True, 90: True}) == ([], [80, 90])


def test_month_ends_before():
    assert rules.month_ends_before(date(2027, 1, 1), 3) == [
        date(2026, 10, 31),
        date(2026, 11, 30),
        date(2026, 12, 31),
    ]
    assert rules.quarter_of(date(2027, 1, 1)) == "2027Q1"


def test_two_dry_months_while_due_lower_the_grade():
    months = [Month(True, D("500")), Month(True, D("0")), Month(True, D("0"))]
    p = rules.reevaluate("A", D("10000"), GRADES, 10, months, D("800"))
    assert (p.direction, p.grade, p.limit) == ("down", "B", D("10000"))


def test_dry_months_that_are_not_consecutive_or_not_due_do_not_lower():
    months = [Month(True, D("0")), Month(True, D("100")), Month(True, D("0"))]
    assert rules.reevaluate("A", D("10000"), GRADES, 10, months, D("800")) is None
    quiet = [Month(False, D("0"))] * 3  # nothing owed, nothing collected: no reason to move
    assert rules.reevaluate("A", D("10000"), GRADES, 10, quiet, D("0")) is None


def test_good_repayment_raises_one_grade_or_at_the_top_the_limit_by_the_step():
    months = [Month(False, D("300")), Month(False, D("0")), Month(False, D("200"))]
    p = rules.reevaluate("A", D("10000"), GRADES, 10, months, D("0"))
    assert (p.direction, p.grade, p.limit) == ("up", "AA", D("10000"))
    top = rules.reevaluate("AAA", D("10000"), GRADES, 10, months, D("0"))
    assert (top.grade, top.limit) == ("AAA", D("11000.00"))
    bottom = rules.reevaluate(
        "C", D("10000"), GRADES, 10, [Month(True, D("0")), Month(True, D("0"))], D("1")
    )
    assert (bottom.direction, bottom.grade, bottom.limit) == ("down", "C", D("9000.00"))


def test_anything_overdue_now_or_at_a_month_end_blocks_a_raise():
    months = [Month(True, D("300"))] * 3  # debts fell due and were paid in time
    assert rules.reevaluate("A", D("10000"), GRADES, 10, months, D("0")).direction == "up"
    assert rules.reevaluate("A", D("10000"), GRADES, 10, months, D("1")) is None
    late = [Month(True, D("300")), Month(True, D("300"), True), Month(True, D("300"))]
    assert rules.reevaluate("A", D("10000"), GRADES, 10, late, D("0")) is None
