"""Flask-Admin's own words (its "admin" translation domain) as the staff say them.

Flask-Admin ships a zh_Hans_CN catalogue, but a few of its words are wrong for our screens
("请选择模型" for a select box, "20 项目" for a page size) and its page-size menu asks for
msgids built at run time ("20 item" / "20 items") that no catalogue has. Ours,
crm/translations/<locale>/LC_MESSAGES/admin.po (hand-kept, compiled by scripts/i18n.sh),
holds only the corrections and the missing strings.

Flask-Admin looks in `Admin.translations_path` first and in its own directory after it, and
Flask-Babel merges the catalogues in that order, the later winning: its own words would
replace ours. `install` puts ours last, so that they win and the rest stays Flask-Admin's."""

from pathlib import Path

from flask_admin import babel as admin_babel

TRANSLATIONS = str(Path(__file__).resolve().parent.parent / "translations")


class _OursLastDomain(admin_babel.CustomDomain):
    @property
    def translation_directories(self) -> list[str]:
        dirs = [d for d in super().translation_directories if d != TRANSLATIONS]
        return [*dirs, TRANSLATIONS]


def install(admin) -> None:
    admin.translations_path = TRANSLATIONS
    domain = admin_babel.domain
    # Flask-Admin's gettext / ngettext are bound to this one object (its templates and
    # flashes use them): give it the ordering, keep the object.
    if not isinstance(domain, _OursLastDomain):
        domain.__class__ = _OursLastDomain
        domain.cache.clear()
