"""Pure archive rules: the six categories (R3), retention codes, the archive number (档号),
catalogue remarks that point from one set to the other (R9), and the dual-set status.

No database here: every function takes plain values."""

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

# R3's six categories: key -> (code in the archive number, label).
CATEGORIES = {
    "basic": ("JC", _l("Basic materials")),
    "contracts": ("HT", _l("Contracts and agreements")),
    "debts": ("ZW", _l("Debts and repayments")),
    "complaints": ("TS", _l("Complaints and discounts")),
    "industry": ("HY", _l("Industry trends")),
    "promotion": ("CX", _l("Promotions, sales records and commissions")),
}
RETENTIONS = {"Y": _l("Permanent"), "D30": _l("30 years"), "D10": _l("10 years")}

PAPER, ELECTRONIC, BOTH = "paper", "electronic", "both"
FORMS = {PAPER: _l("Paper"), ELECTRONIC: _l("Electronic"), BOTH: _l("Paper and electronic")}
SETS = {PAPER: _l("Paper set"), ELECTRONIC: _l("Electronic set")}

DRAFT, FILED, ARCHIVED, DISPOSED = "draft", "filed", "archived", "disposed"
STATUSES = {
    DRAFT: _l("Draft (sign-off missing)"),
    FILED: _l("Filed, waiting for indexing"),
    ARCHIVED: _l("Archived"),
    DISPOSED: _l("Disposed of (retention ended)"),
}
# Years each retention code keeps a document; Y (permanent) has none.
RETENTION_YEARS = {"D30": 30, "D10": 10}

# Disposal lists (销毁清册)
PROPOSED, APPROVED, REJECTED, DONE = "proposed", "approved", "rejected", "done"
DISPOSAL_STATUSES = {
    PROPOSED: _l("Proposed"),
    APPROVED: _l("Approved"),
    REJECTED: _l("Rejected"),
    DONE: _l("Carried out"),
}

OPEN, CLOSED = "open", "closed"
VOLUME_STATUSES = {OPEN: lazy_pgettext("volume status", "Open"), CLOSED: _l("Closed")}

# Dual-set states shown per document.
DUAL = {
    "draft": _l("Not yet archived"),
    "paper_only": _l("Paper only"),
    "electronic_only": _l("Electronic only"),
    "linked": _l("Both sets, linked"),
    "missing_paper": _l("Paper set missing"),
    "missing_electronic": _l("Electronic set missing"),
}

FLAG_KINDS = {
    "checksum_changed": _l("File changed since it was archived"),
    "file_missing": _l("File missing from storage"),
    "missing_paper": _l("Paper set missing"),
    "missing_electronic": _l("Electronic set missing"),
}


def category_code(category: str) -> str:
    return CATEGORIES[category][0]


def archive_number(
    fonds: str, year: int, retention: str, category: str, volume: int, item: int
) -> str:
    """fonds–year–retention–category–volume–item, after DA/T 22-2015 with our volume level:
    e.g. Z001-2026-D30-HT-003-0012. Volume 3 digits and item 4 digits keep the numbers
    sortable as text."""
    if retention not in RETENTIONS:
        raise ValueError(f"unknown retention {retention!r}")
    if not (0 < volume < 1000 and 0 < item < 10000):
        raise ValueError("volume or item out of range")
    return f"{fonds}-{year:04d}-{retention}-{category_code(category)}-{volume:03d}-{item:04d}"


def retention_ends(retention: str, doc_date: date) -> date | None:
    """The day a document's retention has run out: counted in whole years from 1 January of
    the year after the document's (the archives' custom); None for a permanent one."""
    years = RETENTION_YEARS.get(retention)
    return None if years is None else date(doc_date.year + 1 + years, 1, 1)


def retention_ended_before(retention: str, today: date) -> date | None:
    """Documents of `retention` dated before this day have run out by `today` (the same rule
    turned around, for a query); None for a permanent retention."""
    years = RETENTION_YEARS.get(retention)
    return None if years is None else date(today.year - years, 1, 1)


def electronic_code(number: str) -> str:
    """The electronic file's code: the archive number with the electronic-set marker."""
    return f"{number}-E"


def location_text(room, cabinet, shelf, box) -> str:
    if not has_location(room, cabinet, shelf, box):
        return ""
    return _(
        "room %(room)s, cabinet %(cabinet)s, shelf %(shelf)s, box %(box)s",
        room=room,
        cabinet=cabinet,
        shelf=shelf,
        box=box,
    )


def has_location(room, cabinet, shelf, box) -> bool:
    return all((v or "").strip() for v in (room, cabinet, shelf, box))


def paper_remarks(code: str | None, address: str | None) -> str:
    """The paper catalogue's remarks: where the matching electronic file is."""
    if not code or not address:
        return _("No electronic copy")
    return _("Electronic file %(code)s, stored at %(address)s", code=code, address=address)


def electronic_remarks(number: str, location: str) -> str:
    """The electronic catalogue's remarks: the paper archive number and where it stands."""
    if not location:
        return _("No paper copy")
    return _("Paper %(number)s at %(location)s", number=number, location=location)


def sets_of(form: str) -> tuple[str, ...]:
    return {PAPER: (PAPER,), ELECTRONIC: (ELECTRONIC,), BOTH: (PAPER, ELECTRONIC)}[form]


def dual_status(form: str, archived: bool, has_paper: bool, has_file: bool) -> str:
    if not archived:
        return "draft"
    if form == BOTH:
        if not has_paper:
            return "missing_paper"
        return "linked" if has_file else "missing_electronic"
    if form == PAPER:
        return "paper_only" if has_paper else "missing_paper"
    return "electronic_only" if has_file else "missing_electronic"


def sign_off_missing(customer_signed: bool, handler: str | None, approved: bool) -> list[str]:
    """R4: which of the three sign-offs are missing (empty: the document may be filed)."""
    missing = []
    if not customer_signed:
        missing.append("customer_signed")
    if not (handler or "").strip():
        missing.append("handler")
    if not approved:
        missing.append("approved")
    return missing


def share_count(total: int, percent: int) -> int:
    """How many files one integrity sweep re-hashes: a rotating share, at least one."""
    if total <= 0:
        return 0
    return max(1, min(total, -(-total * percent // 100)))
