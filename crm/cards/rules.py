"""Pure rules of member cards (R15): the card number's check digit, expiry dates and the state
machine. No database, no Flask request: tested on their own."""

import calendar
import re
import unicodedata
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

# 16 digits: a fixed prefix, an 11-digit sequence, a Luhn check digit. Luhn catches every
# single mistyped digit and every swap of two neighbouring digits except 09/90.
NUMBER_PREFIX = "8866"
NUMBER_LENGTH = 16
_DIGITS = re.compile(r"\d+", re.ASCII)

ACTIVE, EXPIRED, LOST, REPLACED, CANCELLED, RENEWED = (
    "active",
    "expired",
    "lost",
    "replaced",
    "cancelled",
    "renewed",
)
STATUSES = {  # a context of their own: "Active" of a card is not "active" of a customer
    ACTIVE: lazy_pgettext("card status", "Active"),
    EXPIRED: lazy_pgettext("card status", "Expired"),
    LOST: lazy_pgettext("card status", "Lost (blocked)"),
    REPLACED: lazy_pgettext("card status", "Replaced (blocked)"),
    CANCELLED: lazy_pgettext("card status", "Cancelled"),
    RENEWED: lazy_pgettext("card status", "Renewed"),
}
# The only moves a card's status may make (issue 5). Everything else is refused.
TRANSITIONS = {
    (ACTIVE, EXPIRED): "expire",  # by date, in the daily task
    (ACTIVE, LOST): "report_lost",  # blocks the card at once
    (LOST, REPLACED): "replace",  # a new card carries the remaining validity
    (ACTIVE, CANCELLED): "cancel",  # benefits end; a new application pays again
    (EXPIRED, RENEWED): "renew",  # a new card, on ID and the old card
}
# Uses of a card in these states are attempts the account manager hears about.
BLOCKED = {LOST, REPLACED, CANCELLED}
LIVE = {ACTIVE, LOST}  # the holder still has a card of this type that is not finished


def normalise_number(value: str) -> str:
    """Full-width digits from an input method become ASCII; spaces and dashes go."""
    return re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", value or ""))


def luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # these get doubled once the check digit is appended on the right
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def make_number(seq: int) -> str:
    body = f"{NUMBER_PREFIX}{seq:0{NUMBER_LENGTH - len(NUMBER_PREFIX) - 1}d}"
    if len(body) != NUMBER_LENGTH - 1:
        raise ValueError("card number sequence exhausted")
    return body + luhn_digit(body)


def check_number(value: str) -> str | None:
    """None when `value` is a well-formed card number, else what is wrong with it."""
    v = normalise_number(value)
    if not _DIGITS.fullmatch(v) or len(v) != NUMBER_LENGTH:
        return _l("A card number has %(n)d digits.", n=NUMBER_LENGTH)
    if luhn_digit(v[:-1]) != v[-1]:
        return _l("This card number's check digit is wrong: it was probably mistyped.")
    return None


def add_months(start: date, months: int) -> date:
    """Same day `months` later, or the month's last day when it is shorter (Jan 31 + 1 = Feb
    28/29; Feb 29 + 12 = Feb 28)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def is_past_expiry(expiry: date, today: date) -> bool:
    """A card is valid through its expiry date and void from the next day (R15)."""
    return expiry < today


def extended_expiry(expiry: date, months: int, today: date) -> date:
    """Renewal before expiry extends from the old expiry date, not from today."""
    if is_past_expiry(expiry, today):
        raise ValueError("an expired card is not extended; a new card is issued")
    return add_months(expiry, months)


def transition_error(current: str, target: str):
    """None when current → target is allowed, else a message saying why it is not."""
    if (current, target) in TRANSITIONS:
        return None
    allowed = [str(STATUSES[t]) for (f, t) in TRANSITIONS if f == current]
    return _l(
        "A card that is %(current)s cannot become %(target)s (allowed: %(allowed)s).",
        current=STATUSES.get(current, current),
        target=STATUSES.get(target, target),
        allowed=", ".join(allowed) or _l("none, this status is final"),
    )


FEN = Decimal("0.01")


def apply_benefit(list_price, rate) -> tuple[Decimal, Decimal, Decimal]:
    """R15 benefits at use: the list price, the benefit (the discount given) and the amount
    paid, each to the fen. The amount paid is the list price times the card type's rate
    (0.90 = 10% off), rounded half-up to the fen; the benefit is what that leaves off. With
    no rate (a refused use: cancelled, lost, expired) there is no benefit."""
    price = Decimal(list_price).quantize(FEN, ROUND_HALF_UP)
    if rate is None:
        return price, Decimal("0.00"), price
    paid = (price * Decimal(rate)).quantize(FEN, ROUND_HALF_UP)
    return price, price - paid, paid
