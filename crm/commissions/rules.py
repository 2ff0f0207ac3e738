"""Commission maths, with no database: parsing a scheme's rates and computing a sale's due.

A scheme pays either a percentage per product kind (``by_product``; ``*`` is the rate of any
kind not listed) or by amount tiers (``tiered``): the rate of the highest tier the sale's
amount reaches applies to the whole amount. Money is rounded half-up to the fen.
"""

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.errors import DomainError
from crm.kernel import to_decimal

BY_PRODUCT, TIERED = "by_product", "tiered"
RULE_KINDS = [(BY_PRODUCT, _l("Percentage per product kind")), (TIERED, _l("Tiered by amount"))]
PRODUCT_KINDS = [
    ("membership", _l("Membership")),
    ("catering", _l("Catering")),
    ("rooms", _l("Rooms")),
    ("meetings", _l("Meetings and events")),
    ("recreation", _l("Recreation")),
    ("other", _l("Other")),
]
ANY = "*"
CENT = Decimal("0.01")
_LINE = re.compile(r"^\s*([^=:：]+?)\s*[=:：]\s*([0-9.]+)\s*(%?)\s*$")


def parse_rates(text: str, rule_kind: str) -> list[list[str]]:
    """'catering=5%' or '100000=4%' per line → [[key, rate as a fraction], …], checked."""
    rates, errors = [], []
    for n, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        try:
            rate = Decimal(match.group(2)) / (100 if match.group(3) else 1) if match else None
        except InvalidOperation:
            rate = None
        if rate is None or not Decimal(0) <= rate <= 1:
            errors.append(n)
            continue
        key = match.group(1)
        if rule_kind == BY_PRODUCT and key not in {k for k, _ in PRODUCT_KINDS} | {ANY}:
            errors.append(n)
            continue
        if rule_kind == TIERED:
            try:
                key = str(to_decimal(key))
            except ValueError:
                errors.append(n)
                continue
        rates.append([key, str(rate.normalize())])
    if errors:
        raise DomainError(
            _l("Rates on lines %(lines)s are not understood.", lines=", ".join(map(str, errors))),
            {"rates_text": _l("One rate per line: key=percent, e.g. catering=5%.")},
        )
    if not rates:
        raise DomainError(
            _l("A scheme needs at least one rate."), {"rates_text": _l("Give at least one rate.")}
        )
    keys = [k for k, _ in rates]
    if len(set(keys)) != len(keys):
        raise DomainError(_l("A key appears twice."), {"rates_text": _l("A key appears twice.")})
    return rates


def format_rates(rates) -> str:
    return "\n".join(f"{k}={Decimal(r) * 100:.4g}%" for k, r in rates or [])


def describe_rates(rule_kind: str, rates) -> str:
    """A scheme's rates as staff read them: 会员 10%；餐饮 5%；其他 3% (by product kind), or
    "满 100,000.00 付 4%" per tier."""
    kinds = dict(PRODUCT_KINDS)
    parts = []
    for key, rate in rates or []:
        percent = f"{Decimal(rate) * 100:.4g}%"
        if rule_kind == TIERED:
            parts.append(
                _("From %(amount)s: %(rate)s", amount=f"{Decimal(key):,.2f}", rate=percent)
            )
        elif key == ANY:
            parts.append(_("Any other kind") + " " + percent)
        else:
            parts.append(f"{kinds.get(key, key)} {percent}")
    return "；".join(str(p) for p in parts)


def rate_for(rule_kind: str, rates, product_kind: str, amount: Decimal) -> Decimal | None:
    table = {k: Decimal(r) for k, r in rates or []}
    if rule_kind == BY_PRODUCT:
        return table.get(product_kind, table.get(ANY))
    reached = [Decimal(k) for k in table if Decimal(k) <= amount]
    return table[str(max(reached))] if reached else Decimal(0)


def commission_for(rule_kind: str, rates, product_kind: str, amount: Decimal) -> Decimal | None:
    """What a sale earns under a scheme; None when the scheme does not cover the product."""
    rate = rate_for(rule_kind, rates, product_kind, Decimal(amount))
    if rate is None:
        return None
    return (Decimal(amount) * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def month_of(day: date) -> str:
    return f"{day:%Y-%m}"


def next_month(month: str) -> str:
    year, mon = map(int, month.split("-"))
    return f"{year + mon // 12}-{mon % 12 + 1:02d}"
