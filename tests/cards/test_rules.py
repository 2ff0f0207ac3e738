from datetime import date
from decimal import Decimal

import pytest

from crm.cards import rules


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2028, 2, 29), 12, date(2029, 2, 28)),  # leap day, a year on
        (date(2028, 2, 29), 48, date(2032, 2, 29)),
        (date(2026, 8, 31), 1, date(2026, 9, 30)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),  # across the year end
        (date(2026, 3, 31), 12, date(2027, 3, 31)),
    ],
)
def test_add_months_is_month_end_and_leap_day_safe(start, months, expected):
    assert rules.add_months(start, months) == expected


def test_renewal_before_expiry_extends_from_the_old_expiry_date():
    assert rules.extended_expiry(date(2027, 1, 31), 1, today=date(2026, 12, 1)) == date(2027, 2, 28)
    assert rules.extended_expiry(date(2027, 1, 31), 1, today=date(2027, 1, 31)) == date(2027, 2, 28)
    with pytest.raises(ValueError):
        rules.extended_expiry(date(2027, 1, 31), 1, today=date(2027, 2, 1))


def test_a_card_is_valid_through_its_expiry_date():
    assert not rules.is_past_expiry(date(2026, 11, 25), date(2026, 11, 25))
    assert rules.is_past_expiry(date(2026, 11, 25), date(2026, 11, 26))


def test_card_numbers_carry_a_luhn_check_digit():
    number = rules.make_number(1)
    assert len(number) == 16 and number.startswith(rules.NUMBER_PREFIX)
    assert rules.check_number(number) is None
    assert rules.luhn_digit("7992739871") == "3"  # the textbook example
    assert number == "8866000000000014"


def test_every_single_digit_typo_and_neighbour_swap_is_caught():
    number = rules.make_number(4711)
    for i, ch in enumerate(number):
        for d in "0123456789":
            if d != ch:
                typo = number[:i] + d + number[i + 1 :]
                assert rules.check_number(typo) is not None, typo
    for i in range(len(number) - 1):
        a, b = number[i], number[i + 1]
        if a != b and {a, b} != {"0", "9"}:
            swapped = number[:i] + b + a + number[i + 2 :]
            assert rules.check_number(swapped) is not None, swapped


def test_card_number_input_is_normalised():
    number = rules.make_number(42)
    spaced = " ".join(number[i : i + 4] for i in range(0, 16, 4))
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in number)
    assert rules.check_number(spaced) is None
    assert rules.normalise_number(full_width) == number
    assert rules.check_number(number[:-1]) is not None
    assert rules.check_number("88660000000000a9") is not None


ALLOWED = set(rules.TRANSITIONS)


@pytest.mark.parametrize("move", sorted(ALLOWED))
def test_allowed_moves(move):
    assert rules.transition_error(*move) is None


@pytest.mark.parametrize(
    "move", sorted((a, b) for a in rules.STATUSES for b in rules.STATUSES if (a, b) not in ALLOWED)
)
def test_forbidden_moves_say_why(app, move):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        message = str(rules.transition_error(*move))
    assert message and "cannot become" in message


@pytest.mark.parametrize(
    "price, rate, expected",
    [
        ("1000", "0.90", ("1000.00", "100.00", "900.00")),
        ("0.05", "0.90", ("0.05", "0.00", "0.05")),  # 0.045 -> 0.05, half-up
        ("10.15", "0.95", ("10.15", "0.51", "9.64")),  # 9.6425 -> 9.64
        ("19.99", "0.85", ("19.99", "3.00", "16.99")),  # 16.9915 -> 16.99
        ("33.30", "0.75", ("33.30", "8.32", "24.98")),  # 24.975 -> 24.98, not 24.97 (half-even)
        ("12.345", "1", ("12.35", "0.00", "12.35")),  # the list price itself to the fen
        ("500", None, ("500.00", "0.00", "500.00")),  # no benefit
    ],
)
def test_the_benefit_at_use_is_rounded_half_up_to_the_fen(price, rate, expected):
    assert rules.apply_benefit(price, rate) == tuple(Decimal(v) for v in expected)
