"""China's official working days (R12 deadlines: registration, changes, reminders).

The calendar is the State Council's, with its make-up working days (调休) on weekends, from the
`chinesecalendar` package; the settings add days off (`holidays`) or working days
(`extra_workdays`) on top of it. The State Council publishes a year's days in November or
December and the package learns them in a release after that: a date in a year the package does
not know yet is counted on weekends, the statutory holidays `holidays`' China calendar computes
and the settings, and the administrator is told once per such year. Nothing here ever raises
for a date.
"""

from collections.abc import Callable
from datetime import date, timedelta

import chinese_calendar
import holidays as holiday_lib

# The last year the installed package knows (its holiday table's last date).
LAST_PUBLISHED_YEAR = max(chinese_calendar.holidays).year


def official_working_day(day: date) -> bool | None:
    """The published calendar's answer, None when the package does not know the year."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return None


class WorkCalendar:
    """Working days by the official calendar and the settings' additions. Pure: no database;
    `on_missing(year)` is called the first time a year outside the published calendar is met."""

    def __init__(self, days_off=(), workdays=(), on_missing: Callable[[int], None] | None = None):
        self.days_off = set(map(str, days_off or ()))
        self.workdays = set(map(str, workdays or ()))
        self.on_missing = on_missing
        self.missing_years: set[int] = set()
        self._statutory: dict[int, set] = {}
        self._known: dict[date, bool] = {}

    def is_working(self, day: date) -> bool:
        if day not in self._known:
            self._known[day] = self._is_working(day)
        return self._known[day]

    def _is_working(self, day: date) -> bool:
        iso = day.isoformat()
        if iso in self.workdays:
            return True
        if iso in self.days_off:
            return False
        official = official_working_day(day)
        if official is not None:
            return official
        self._missing(day.year)
        return day.weekday() < 5 and day not in self._statutory_days(day.year)

    def _missing(self, year: int) -> None:
        # Years before the package's first are history: nothing will arrive for them.
        if year not in self.missing_years and year > LAST_PUBLISHED_YEAR:
            self.missing_years.add(year)
            if self.on_missing is not None:
                self.on_missing(year)

    def _statutory_days(self, year: int) -> set:
        if year not in self._statutory:
            self._statutory[year] = set(holiday_lib.China(years=year))
        return self._statutory[year]

    def add(self, start: date, days: int) -> date:
        """The working day `days` working days after `start` (start itself does not count)."""
        day = start
        while days > 0:
            day += timedelta(days=1)
            if self.is_working(day):
                days -= 1
        return day

    def between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (0 when end <= start)."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working(day)
        return count

    def previous(self, day: date) -> date:
        """The last working day before `day`."""
        day -= timedelta(days=1)
        while not self.is_working(day):
            day -= timedelta(days=1)
        return day


def _tell_administrators(session, year: int) -> None:
    from flask_babel import lazy_gettext as _l
    from sqlalchemy import select

    from crm.access import ADMIN
    from crm.auth.models import User
    from crm.kernel import unscoped
    from crm.notifications.services import Target, notify

    admins = session.scalars(
        select(User)
        .where(User.role == ADMIN, User.active.is_(True))
        .execution_options(**unscoped("the administrators to warn"))
    ).all()
    notify(
        session,
        admins,
        f"workdays:missing:{year}",
        "calendar_missing",
        str(_l("China's official working days of %(year)d are not installed", year=year)),
        str(
            _l(
                "Until the chinesecalendar package is upgraded, dates of %(year)d count "
                "weekends and the statutory holidays only, without make-up working days. "
                "Add the year's days off and working days in the settings (holidays, "
                "extra_workdays), or upgrade the package.",
                year=year,
            )
        ),
        target=Target("setting.index_view"),
    )


def company_calendar(session=None) -> WorkCalendar:
    """The one working-day calendar every rule uses: the official one plus the settings."""
    from crm.extensions import db
    from crm.settings import get_setting

    session = session or db.session
    return WorkCalendar(
        get_setting("holidays"),
        get_setting("extra_workdays"),
        on_missing=lambda year: _tell_administrators(session, year),
    )
