"""Settings a manager may change, stored in the database with defaults from RULES.md."""

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
    "holidays": ([], _l("Holidays (YYYY-MM-DD) skipped when counting working days")),
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
