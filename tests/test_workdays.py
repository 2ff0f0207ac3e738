"""R12 deadlines count China's official working days, 调休 make-up days included."""

from datetime import date

from sqlalchemy import select

from crm.extensions import db
from crm.intake import rules, services
from crm.intake.models import FirstContact
from crm.notifications.models import Notification
from crm.settings import Setting
from crm.workdays import WorkCalendar, company_calendar
from tests.intake.support import acting


def test_spring_festival_2026_and_its_make_up_saturdays():
    calendar = WorkCalendar()
    assert calendar.is_working(date(2026, 2, 14)) and calendar.is_working(date(2026, 2, 28))
    assert not any(calendar.is_working(date(2026, 2, d)) for d in range(16, 24))
    # First contact on Thursday 12 February: 13, 14 (Saturday, worked), 24, 25, 26.
    assert rules.registration_deadline(date(2026, 2, 12), 5, calendar) == date(2026, 2, 26)
    assert rules.reminder_day(date(2026, 2, 24), calendar) == date(2026, 2, 14)


def test_a_year_the_package_does_not_know_falls_back_and_tells_once():
    told = []
    calendar = WorkCalendar(on_missing=told.append)
    assert not calendar.is_working(date(2027, 1, 1))  # New Year's Day, statutory
    assert not calendar.is_working(date(2027, 1, 2))  # a Saturday
    assert calendar.is_working(date(2027, 1, 4))
    assert not calendar.is_working(date(2027, 2, 8))  # Spring Festival, computed
    assert calendar.add(date(2027, 2, 4), 1) == date(2027, 2, 11)
    assert told == [2027]
    assert calendar.is_working(date(2000, 3, 6)) and told == [2027]  # the past: no notice


def test_settings_add_and_remove_days(ctx):
    db.session.add_all(
        [
            Setting(key="holidays", value=["2026-12-03"]),
            Setting(key="extra_workdays", value=["2026-12-05", "2027-02-20"]),
        ]
    )
    db.session.commit()
    calendar = company_calendar()
    assert not calendar.is_working(date(2026, 12, 3))  # a Thursday made a day off
    assert calendar.is_working(date(2026, 12, 5))  # a Saturday made a working day
    assert calendar.is_working(date(2027, 2, 20))  # a make-up day the package has not yet
    assert calendar.add(date(2026, 12, 2), 2) == date(2026, 12, 5)


def _inbox(user):
    return db.session.scalars(
        select(Notification).where(Notification.recipient_id == user.id)
    ).all()


def test_a_2027_deadline_works_in_the_task_and_the_admin_is_told_once(world):
    with acting(world.am1):
        services.record_first_contact(
            db.session,
            FirstContact(
                name="华东新客户有限公司", phone="021-12345678", contact_date=date(2026, 12, 28)
            ),
        )
        services.record_first_contact(
            db.session,
            FirstContact(
                name="华东另一客户有限公司", phone="021-12345679", contact_date=date(2027, 1, 6)
            ),
        )
    db.session.commit()
    for day in (date(2027, 1, 4), date(2027, 1, 20), date(2027, 1, 21)):
        services.check_registrations(db.session, day)
        db.session.commit()
    notices = _inbox(world.admin)
    assert [n.kind for n in notices] == ["calendar_missing"] and "2027" in notices[0].title
    assert [n.kind for n in _inbox(world.rm_east)] == ["registration_late"] * 2
