"""Times are stored as naive UTC and shown in the company's zone."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def company_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def to_local(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC).astimezone(company_zone())


def local_today() -> date:
    return datetime.now(company_zone()).date()


def format_local(value: datetime | None) -> str:
    local = to_local(value)
    return local.strftime("%Y-%m-%d %H:%M") if local else ""


def local_to_utc(value: datetime | None) -> datetime | None:
    """A time typed in the company's zone (naive), as stored: naive UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=company_zone()).astimezone(UTC).replace(tzinfo=None)
