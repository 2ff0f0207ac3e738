"""Reading an amount: the one place that turns what a person typed, a spreadsheet held or a
caller passed into a `Decimal` (RULES: money is Numeric(14, 2), never float)."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

from crm.bounds import numeric_error
from crm.errors import DomainError
from crm.kernel.columns import Money

CENT = Decimal("0.01")
_NOISE = str.maketrans("", "", ",，_ \u00a0\u3000¥￥")


def to_decimal(value) -> Decimal:
    """A number written the ways staff write it: thousands separators (`1,200.50`,
    `1，200.50`), a currency sign or a trailing 元 (`¥1200`, `1200元`), spaces around it;
    `1e3` is 1000. A ValueError (with a message staff read) if it is not a finite number."""
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, bool) or value is None:
        raise ValueError(_l("This is not a number."))
    elif isinstance(value, int | float):
        number = Decimal(str(value))
    else:
        text = str(value).strip().translate(_NOISE)
        text = text.removesuffix("元")
        try:
            number = Decimal(text)
        except (InvalidOperation, ValueError):
            raise ValueError(_l("This is not a number.")) from None
    if not number.is_finite():
        raise ValueError(_l("This is not a number."))
    return number


def parse_money(
    value, field: str = "amount", *, positive: bool = False, round_cents: bool = False, type_=Money
) -> Decimal:
    """An amount for a column of `type_`: a Decimal it holds, or a DomainError naming `field`.
    `positive`: zero or less is refused; `round_cents`: more than two decimals are rounded
    half up (a ledger amount) instead of refused (a form field). The result has the
    column's decimals (`5` is `5.00`)."""
    try:
        number = to_decimal(value)
    except ValueError as exc:
        raise DomainError(exc.args[0], {field: exc.args[0]}) from None
    if round_cents:
        number = number.quantize(CENT, rounding=ROUND_HALF_UP)
    if positive and number <= 0:
        message = _l("The amount is a number above zero.")
        raise DomainError(message, {field: message})
    message = numeric_error(number, type_)
    if message is not None:
        raise DomainError(message, {field: message})
    scale = getattr(type_, "scale", None)
    return number.quantize(Decimal(1).scaleb(-scale)) if scale is not None else number
