"""Settings a manager may change, stored in the database; defaults from docs/rules.md."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db

DEFAULTS = {
    "registration_days": (5, _l("Working days to register a new customer after first contact")),
    "deleted_retention_days": (30, _l("Days deleted material is kept before destruction")),
    "regional_manager_reads_region": (
        True,
        _l("Regional managers read their own region's customers without a grant"),
    ),
    "view_grant_days": (7, _l("Days a view grant lasts unless the approver says otherwise")),
    # Working days are China's official calendar (crm.workdays); these two adjust it.
    "holidays": ([], _l("Extra days off (YYYY-MM-DD), on top of China's official calendar")),
    "extra_workdays": (
        [],
        _l(
            "Extra working days (YYYY-MM-DD), e.g. a make-up working day of "
            "a year the calendar package does not know yet"
        ),
    ),
    "change_registration_days": (
        5,
        _l("Working days to register a change in a customer's situation after it happened"),
    ),
    # Credit (R11): thresholds in percent of the limit, and who hears of each crossing.
    "credit_thresholds": ([80, 90], _l("Credit use thresholds (%) that notify")),
    "credit_threshold_departments": (
        {"80": ["commerce"], "90": ["sales", "product"]},
        _l("Departments notified at each credit threshold"),
    ),
    "credit_departments": (
        {
            "commerce": {"name": "商务部", "users": [], "addresses": ["commerce@example.com"]},
            "sales": {"name": "销售部", "users": [], "addresses": ["sales@example.com"]},
            "product": {"name": "产品中心", "users": [], "addresses": ["product@example.com"]},
        },
        _l("Departments: user names and mail addresses that receive credit notices"),
    ),
    "credit_grades": (["C", "B", "A", "AA", "AAA"], _l("Credit grades, lowest first")),
    "credit_raise_step_percent": (10, _l("Most a credit limit may change in one step (%)")),
    "credit_default_period_days": (30, _l("Credit period (days) of a customer without one")),
    "card_reminder_days": ([30, 7], _l("Days before a member card's expiry when reminders go")),
    # The archive (R3, R9; DA/T 22-2015 archive numbers).
    "archive_fonds_code": ("Z001", _l("Fonds code (全宗号) opening every archive number")),
    "archive_retention": (
        {
            "basic": "Y",
            "contracts": "D30",
            "debts": "D30",
            "complaints": "D10",
            "industry": "D10",
            "promotion": "D10",
        },
        _l("Retention per archive category: Y permanent, D30 30 years, D10 10 years"),
    ),
    "archive_integrity_share": (15, _l("Share (%) of electronic files re-hashed each night")),
    # Intake (R12, R13) and revisits (R14).
    "invitation_cutoff_hour": (
        18,
        _l("Hour (company time) after which an invitation counts for the next day"),
    ),
    "invitation_divisions": (
        {"one": "一事业部", "two": "二事业部"},
        _l("The divisions that invite customers: code and name"),
    ),
    "revisit_cadence": (
        {"first_year_months": 1, "later_months": 3},
        _l(
            "Revisit every n months in the first year after delivery, then every "
            "m months (at most 12)"
        ),
    ),
    # Notices (crm.notifications.delivery).
    "notice_digest_hour": (8, _l("Hour (company time) when the daily digest of notices goes")),
    "robot_messages_per_minute": (
        18,
        _l("Most messages a minute to one WeCom or DingTalk robot (their documented limit is 20)"),
    ),
    # R7: the monthly watch list (crm.reviews.watch); an empty value turns a rule off.
    "watch_levels": (
        ["K", "A"],
        _l("Watch list: levels whose customers are always watched (their card expiries too)"),
    ),
    "watch_drop_percent": (
        30,
        _l("Watch list: consumption fell by more than this share (%) against the month before"),
    ),
    "watch_credit_percent": (
        80,
        _l("Watch list: credit use (%) of the limit, or any overdue debt"),
    ),
    "watch_contract_days": (60, _l("Watch list: a contract ends within this many days")),
    "watch_open_complaints": (True, _l("Watch list: customers with an open complaint")),
    "watch_card_days": (
        30,
        _l("Watch list: a key customer's member card expires within this many days"),
    ),
    # R7, R2: the quarterly reclassification's thresholds (quarter's consumption, in yuan).
    "reclass_level_thresholds": (
        {"K": 500000, "A": 100000, "B": 20000, "C": 1},
        _l("Quarterly reclassification: least consumption in a quarter for each level"),
    ),
    "reclass_weight_thresholds": (
        {"key": 200000, "general": 20000},
        _l(
            "Quarterly reclassification: least consumption in a quarter "
            "for each weight (below: scattered)"
        ),
    ),
    "reclass_former_quarters": (
        2,
        _l(
            "Quarterly reclassification: quarters without consumption "
            "after which a customer becomes former"
        ),
    ),
}


class Setting(db.Model):
    __tablename__ = "settings"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    value: Mapped[object] = mapped_column(JSON)

    def __str__(self) -> str:
        return self.key


def get_setting(key: str):
    row = db.session.execute(select(Setting.value).where(Setting.key == key)).first()
    return row[0] if row else DEFAULTS[key][0]
