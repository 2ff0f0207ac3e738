"""The credit rules as plain functions (RULES R11): no database, tested without one."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
AGING_BUCKETS = ("not_due", "d1_30", "d31_60", "d61_90", "d90_plus")


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def due_date(entry_date: date, period_days: int) -> date:
    return entry_date + timedelta(days=period_days)


def utilisation(outstanding: Decimal, limit: Decimal | None) -> Decimal | None:
    """Outstanding ÷ limit in percent; None when nothing is owed against no limit. Owing
    anything without a limit counts as infinitely over it."""
    if limit is None or limit <= 0:
        return None if outstanding <= 0 else Decimal("Infinity")
    return (outstanding * 100 / limit).quantize(CENT, rounding=ROUND_HALF_UP)


def would_exceed(outstanding: Decimal, amount: Decimal, limit: Decimal | None) -> bool:
    return outstanding + amount > (limit or ZERO)


def aging_bucket(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "not_due"
    if days_past_due <= 30:
        return "d1_30"
    if days_past_due <= 60:
        return "d31_60"
    if days_past_due <= 90:
        return "d61_90"
    return "d90_plus"


def allocate_fifo(charges, payments) -> list[tuple[int, int, Decimal]]:
    """Match open payments to open charges, oldest charge first.

    `charges` and `payments` are (id, open amount) in the order to use them. Returns
    (payment id, charge id, amount) triples; what is left over stays open."""
    out = []
    charges = [[cid, amt] for cid, amt in charges if amt > 0]
    payments = [[pid, amt] for pid, amt in payments if amt > 0]
    ci = pi = 0
    while ci < len(charges) and pi < len(payments):
        take = min(charges[ci][1], payments[pi][1])
        out.append((payments[pi][0], charges[ci][0], take))
        charges[ci][1] -= take
        payments[pi][1] -= take
        if charges[ci][1] == 0:
            ci += 1
        if payments[pi][1] == 0:
            pi += 1
    return out


def crossing_moves(util: Decimal | None, thresholds, above: dict) -> tuple[list, list]:
    """Which thresholds are newly crossed (notify) and which re-arm (utilisation fell below).
    `above` maps threshold → whether the customer is currently counted above it."""
    crossed, rearmed = [], []
    for t in thresholds:
        is_above = util is not None and util >= t
        if is_above and not above.get(t, False):
            crossed.append(t)
        elif not is_above and above.get(t, False):
            rearmed.append(t)
    return crossed, rearmed


def quarter_of(day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def month_ends_before(day: date, count: int) -> list[date]:
    """The last `count` complete months' last days before `day`, oldest first."""
    ends, cursor = [], day.replace(day=1)
    for _ in range(count):
        cursor = cursor - timedelta(days=1)
        ends.append(cursor)
        cursor = cursor.replace(day=1)
    return list(reversed(ends))


@dataclass(frozen=True)
class Month:
    """One month of a customer's history: was a debt due in it (due by its end and unpaid when
    it began), what was collected, and was anything left overdue at its end."""

    due: bool
    collected: Decimal
    overdue_at_end: bool = False


@dataclass(frozen=True)
class Proposal:
    direction: str  # "up" or "down"
    grade: str
    limit: Decimal
    reason: str


def reevaluate(grade: str, limit: Decimal, grades, step_percent, months, overdue_now: Decimal):
    """The quarterly re-evaluation (R11). `grades` run from lowest to highest.

    Down: two consecutive months with nothing collected while something was due. Up: good
    repayment — nothing overdue now or at any month's end, and something collected in the
    period. One step: a grade, or at the end of the scale the limit by `step_percent`."""
    grades = list(grades)
    idx = grades.index(grade) if grade in grades else 0
    step = Decimal(str(step_percent)) / 100
    for a, b in zip(months, months[1:], strict=False):
        if a.due and b.due and a.collected <= 0 and b.collected <= 0:
            if idx > 0:
                return Proposal(
                    "down",
                    grades[idx - 1],
                    limit,
                    "two consecutive months with nothing collected while due",
                )
            return Proposal(
                "down",
                grade,
                money(limit * (1 - step)),
                "two consecutive months with nothing collected while due",
            )
    good = (
        overdue_now <= 0
        and not any(m.overdue_at_end for m in months)
        and any(m.collected > 0 for m in months)
    )
    if not good:
        return None
    if idx < len(grades) - 1:
        return Proposal("up", grades[idx + 1], limit, "good repayment")
    return Proposal("up", grade, money(limit * (1 + step)), "good repayment")
