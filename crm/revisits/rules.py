"""Pure rules of R14: the revisit plan and the greeting days. No database."""

import calendar
from datetime import date
from itertools import chain, count


def add_months(day: date, months: int) -> date:
    """The same day `months` later; the month's last day when it has no such day."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def plan_dates(
    anchor: date, start: date, end: date, first_year_months: int = 1, later_months: int = 3
) -> list[date]:
    """Revisit days from the delivery/joining date `anchor`, within [start, end]: every
    `first_year_months` in the first year, then every `later_months` — never rarer than
    yearly."""
    first = max(1, int(first_year_months))
    later = min(max(1, int(later_months)), 12)
    days = []
    for offset in chain(range(first, 12, first), count(12, later)):
        day = add_months(anchor, offset)
        if day > end:
            return days
        if day >= start:
            days.append(day)
    return days  # unreachable: count() is endless


def greeting_on(day: date, today: date) -> bool:
    """Is `today` the yearly return of `day`? A 29 February is greeted on the 28th."""
    if (day.month, day.day) == (today.month, today.day):
        return True
    return (
        (day.month, day.day) == (2, 29)
        and not calendar.isleap(today.year)
        and (today.month, today.day) == (2, 28)
    )
