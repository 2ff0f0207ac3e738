"""Pure rules of intake: deadlines, name likeness, the invitation cut-off. No database."""

import unicodedata
from datetime import date, datetime, time, timedelta

# Legal-form endings that do not tell two customers apart ("甲贸易有限公司" = "甲贸易公司").
NAME_SUFFIXES = sorted(
    (
        "股份有限公司",
        "有限责任公司",
        "集团有限公司",
        "集团股份有限公司",
        "有限公司",
        "集团公司",
        "集团",
        "公司",
        "coltd",
        "ltd",
        "inc",
        "corp",
    ),
    key=len,
    reverse=True,
)


def registration_deadline(first_contact: date, days: int, calendar) -> date:
    """`calendar`: a crm.workdays.WorkCalendar (China's official working days)."""
    return calendar.add(first_contact, days)


def reminder_day(deadline: date, calendar) -> date:
    """The owner is reminded one working day before the deadline."""
    return calendar.previous(deadline)


def name_key(name: str | None) -> str:
    """Two names with the same key are near-identical: they differ only in blanks, punctuation,
    full-/half-width forms, letter case or a legal-form ending."""
    text = unicodedata.normalize("NFKC", name or "").casefold()
    text = "".join(ch for ch in text if ch.isalnum())
    for suffix in NAME_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)]
    return text


def counting_day(local_moment: datetime, cutoff_hour: int) -> tuple[date, bool]:
    """R13: the day a confirmation counts for, and whether it came after the cut-off."""
    late = local_moment.time() >= time(cutoff_hour)
    day = local_moment.date() + timedelta(days=1) if late else local_moment.date()
    return day, late


def claim_rank(count_day: date, late: bool, confirmed_at: datetime, claim_id: int) -> tuple:
    """Lower wins: the earlier counting day; on the same day an on-time confirmation beats a
    late one (R13: a division that submits late loses to the other's confirmation)."""
    return count_day, late, confirmed_at, claim_id
