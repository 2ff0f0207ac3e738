from datetime import date
from decimal import Decimal

import pytest

from crm.commissions import rules
from crm.errors import DomainError


def test_parse_rates_by_product_kind():
    rates = rules.parse_rates("membership=10%\ncatering：5 %\n\n*=0.02", rules.BY_PRODUCT)
    assert rates == [["membership", "0.1"], ["catering", "0.05"], ["*", "0.02"]]
    assert rules.parse_rates(rules.format_rates(rates), rules.BY_PRODUCT) == rates


@pytest.mark.parametrize(
    "text",
    ["golf=5%", "catering=150%", "catering", "catering=5%\ncatering=6%", "", "membership=abc"],
)
def test_parse_rates_refuses_what_it_cannot_read(text):
    with pytest.raises(DomainError):
        rules.parse_rates(text, rules.BY_PRODUCT)


def test_parse_tiers():
    assert rules.parse_rates("0=3%\n100,000=5%", rules.TIERED) == [
        ["0", "0.03"],
        ["100000", "0.05"],
    ]
    with pytest.raises(DomainError):
        rules.parse_rates("lots=5%", rules.TIERED)


def test_commission_per_product_kind():
    rates = [["membership", "0.1"], ["catering", "0.05"]]
    assert rules.commission_for(rules.BY_PRODUCT, rates, "membership", Decimal("12000")) == Decimal(
        "1200.00"
    )
    assert rules.commission_for(rules.BY_PRODUCT, rates, "catering", Decimal("333.33")) == Decimal(
        "16.67"
    )  # 16.6665 rounds half up
    assert rules.commission_for(rules.BY_PRODUCT, rates, "rooms", Decimal("100")) is None
    rates.append(["*", "0.01"])
    assert rules.commission_for(rules.BY_PRODUCT, rates, "rooms", Decimal("100")) == Decimal("1.00")


def test_tiered_commission_applies_the_highest_tier_reached_to_the_whole_amount():
    tiers = [["0", "0.03"], ["100000", "0.05"], ["500000", "0.08"]]
    assert rules.commission_for(rules.TIERED, tiers, "any", Decimal("99999.99")) == Decimal(
        "3000.00"
    )
    assert rules.commission_for(rules.TIERED, tiers, "any", Decimal("100000")) == Decimal("5000.00")
    assert rules.commission_for(rules.TIERED, tiers, "any", Decimal("600000")) == Decimal(
        "48000.00"
    )
    assert rules.commission_for(rules.TIERED, [["1000", "0.1"]], "x", Decimal("999")) == Decimal(
        "0.00"
    )


def test_months():
    assert rules.month_of(date(2026, 1, 31)) == "2026-01"
    assert rules.next_month("2026-12") == "2027-01"
    assert rules.next_month("2026-09") == "2026-10"
