"""Flask-Admin wiring: one module per domain registers its views here."""

from flask import Response, abort, jsonify
from flask_admin import Admin, expose
from flask_admin.theme import Bootstrap4Theme
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from crm import access
from crm.admin import menucache
from crm.admin.audit import ACTION_LABELS, AuditView
from crm.admin.base import HomeView, format_decimal, who
from crm.admin.clients import (
    ClientView,
    ContactLogView,
    KeyPersonView,
    change_lines,
    entity_label,
    history_field,
    history_items,
    history_value,
)
from crm.admin.users import RegionView, SettingView, UserView
from crm.audit import AuditEvent
from crm.auth.models import Region, User
from crm.clients import choices as ch
from crm.clients.models import Client
from crm.excel.safe import XLSX_MIMETYPE, xlsx_bytes
from crm.extensions import db
from crm.governance.models import TaskRun
from crm.notifications.models import Notification
from crm.security import csp_nonce
from crm.settings import Setting
from crm.timeutil import format_local

CHOICE_SETS = {
    "key_person_role": ch.KEY_PERSON_ROLE,
    "contact_way": ch.CONTACT_WAY,
    "person_role": ch.PERSON_ROLE,
    "kind": ch.KIND,
    "stage": ch.STAGE,
}


class Home(HomeView):
    """Each role's home page (issue 15): its work of today, its charts (each drawn from its
    own JSON endpoint, with its table and .xlsx), the unread notices."""

    @expose("/")
    def index(self):
        from crm.reports import home

        actor = access.current_actor()
        tiles = []
        if access.can(actor, "today", area="home"):
            tiles = home.today_work(db.session, actor)
        visible = _visible_customers()
        if access.can(actor, "watch", area="home"):
            tiles += _watch_tiles()
        # The inbox is narrowed to the signed-in user by crm.access ("recipient" scope).
        unread = db.session.scalars(
            select(Notification)
            .where(Notification.read_at.is_(None))
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(8)
        ).all()
        run = db.session.get(TaskRun, "heartbeat")
        heartbeat = format_local(run.finished_at) if run else None
        undelivered = None
        if access.can(actor, "view", area="undelivered"):  # nothing lost in silence
            from crm.notifications.delivery import undelivered_count

            undelivered = undelivered_count(db.session)
        return self.render(
            "admin/crm/home.html",
            tiles=tiles,
            visible=visible,
            charts=home.charts_for(actor),
            chart_titles=home.TITLES,
            heartbeat=heartbeat,
            unread=unread,
            undelivered=undelivered,
        )

    def _chart(self, name):
        from crm.reports import home

        if not home.allowed(access.current_actor(), name):
            abort(403)
        return home.chart(db.session, name)

    @expose("/chart/<chart>.json")
    def chart_json(self, chart):
        return jsonify(self._chart(chart).as_json())

    @expose("/chart/<chart>.xlsx")
    def chart_xlsx(self, chart):
        name, chart = chart, self._chart(chart)
        header, rows = chart.table()
        body = xlsx_bytes(header, rows, title=str(chart.title))
        return Response(
            body,
            mimetype=XLSX_MIMETYPE,
            headers={"Content-Disposition": f"attachment;filename={name}.xlsx"},
        )


VISIBLE_CAP = 10000


def _visible_customers() -> str:
    """How many customers the reader's scope holds (the query hook narrows it), counted up
    to a cap so that a manager's page does not count a million rows: "10,000+" beyond it."""
    ids = select(Client.id).limit(VISIBLE_CAP + 1).subquery()
    found = db.session.execute(select(func.count()).select_from(ids)).scalar()
    return f"{VISIBLE_CAP:,}+" if found > VISIBLE_CAP else str(found)


def _watch_tiles() -> list:
    """The regional manager's watch list of this month: entries, and those nobody has acted on
    yet (crm.reviews; the entries are narrowed to the region by the scope), each a link to the
    watch list filtered alike."""
    from crm.admin.reviews import MonthFilter, UntouchedFilter
    from crm.reports.home import list_url
    from crm.reviews.models import WatchEntry
    from crm.timeutil import local_today

    month = local_today().replace(day=1)
    base = select(func.count()).select_from(WatchEntry).where(WatchEntry.month == month)
    total = db.session.execute(base).scalar()
    untouched = db.session.execute(base.where(WatchEntry.handled_at.is_(None))).scalar()
    this_month = ("month", MonthFilter, f"{month:%Y-%m}")
    return [
        (_l("Customers to watch this month"), total, list_url("watch_list", this_month)),
        (
            _l("Not yet acted on"),
            untouched,
            list_url("watch_list", this_month, ("handled_at", UntouchedFilter, "1")),
        ),
    ]


def init_admin(app) -> Admin:
    admin = Admin(
        app,
        name=_l("Customer archives"),
        index_view=Home(name=_l("Home"), url="/admin"),
        theme=Bootstrap4Theme(base_template="admin/crm/layout.html", swatch="cerulean", fluid=True),
        csp_nonce_generator=csp_nonce,
    )
    from crm.admin import i18n

    i18n.install(admin)  # Flask-Admin's own words, with our corrections
    archive = _l("Customer archives")
    admin.add_view(ClientView(Client, name=_l("Customers"), endpoint="client", category=archive))
    from crm.clients.models import ContactLog, KeyPerson

    admin.add_view(
        KeyPersonView(KeyPerson, name=_l("Key persons"), endpoint="keyperson", category=archive)
    )
    admin.add_view(
        ContactLogView(ContactLog, name=_l("Contact log"), endpoint="contactlog", category=archive)
    )
    from crm.admin.clients import ClientStaffView, SituationChangeView
    from crm.clients.models import ClientStaff, SituationChange

    admin.add_view(
        ClientStaffView(
            ClientStaff, name=_l("Contact staff"), endpoint="clientstaff", category=archive
        )
    )
    admin.add_view(
        SituationChangeView(
            SituationChange,
            name=_l("Situation changes"),
            endpoint="situationchange",
            category=archive,
        )
    )
    from crm.admin import credit

    credit.register(admin)
    from crm.admin import cards

    cards.register(admin)
    from crm.admin import archives

    archives.register(admin)
    from crm.admin import commissions, complaints, contracts, records

    for module in (contracts, complaints, commissions, records):
        module.register(admin)
    from crm.admin import excel, intake, revisits, surveys

    for module in (excel, revisits, intake, surveys):
        module.register(admin)
    from crm.admin import governance, reviews

    governance.register(admin)
    reviews.register(admin)
    from crm.admin import notifications as notice_views
    from crm.notifications.models import NoticeRobot, OutboxMail, RobotMessage

    admin.add_view(
        notice_views.InboxView(Notification, name=_l("My notifications"), endpoint="inbox")
    )
    admin.add_view(
        notice_views.PreferencesView(name=_l("Notice settings"), endpoint="notice_preferences")
    )
    system = _l("System")
    admin.add_view(
        notice_views.RobotView(
            NoticeRobot, name=_l("Group robots"), endpoint="notice_robot", category=system
        )
    )
    admin.add_view(
        notice_views.UndeliveredMailView(
            OutboxMail, name=_l("Undelivered mail"), endpoint="undelivered_mail", category=system
        )
    )
    admin.add_view(
        notice_views.UndeliveredRobotView(
            RobotMessage,
            name=_l("Undelivered robot messages"),
            endpoint="undelivered_robot",
            category=system,
        )
    )
    admin.add_view(AuditView(AuditEvent, name=_l("Audit trail"), endpoint="audit", category=system))
    admin.add_view(UserView(User, name=_l("Users"), endpoint="user", category=system))
    admin.add_view(RegionView(Region, name=_l("Regions"), endpoint="region", category=system))
    admin.add_view(SettingView(Setting, name=_l("Settings"), endpoint="setting", category=system))

    app.jinja_env.globals.update(
        get_locale=get_locale,
        role_label=lambda role: str(access.ROLES.get(role, role)),
        choice_label=lambda name, value: ch.label(CHOICE_SETS[name], value),
        action_label=lambda action: str(ACTION_LABELS.get(action, action)),
        local_time=format_local,
        history_field=history_field,
        history_items=history_items,
        change_lines=change_lines,
        history_value=history_value,
        entity_label=entity_label,
        who=who,
        money=lambda value: "" if value is None else format_decimal(value),
        cached_menu=menucache.cached_menu,
    )

    @app.context_processor
    def _bell():
        from flask_login import current_user

        from crm.notifications.services import bell_label

        if current_user and current_user.is_authenticated:
            return {"unread_notifications": bell_label(db.session, current_user)}
        return {"unread_notifications": "0"}

    return admin
