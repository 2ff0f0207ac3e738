"""My notifications (我的通知): each user sees only their own inbox (crm.access 'recipient')."""

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import FilterEmpty, FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from markupsafe import Markup, escape
from wtforms import SelectMultipleField, StringField
from wtforms.validators import Optional

from crm.access import current_actor
from crm.admin.base import RoleView, ScopedModelView, perform, select_one
from crm.bounds import id_list
from crm.crypto import encrypt
from crm.extensions import db
from crm.notifications import delivery
from crm.notifications import services as notices
from crm.notifications.models import NoticeRobot, Notification
from crm.notifications.services import KIND_LABELS, mark_read
from crm.timeutil import format_local
from crm.urls import target_path


def _title(view, context, model, name):
    """The subject, linked through "open" (marks the notice read, then goes to its target)."""
    return Markup(
        f'<a href="{escape(view.get_url(".open", id=model.id))}">{escape(model.title)}</a>'
    )


class InboxView(ScopedModelView):
    screen = "inbox"
    can_create = can_edit = can_delete = can_export = False
    column_list = ("created_at", "title", "body", "read_at")
    column_labels = {
        "created_at": _l("Time"),
        "title": _l("Subject"),
        "body": _l("Message"),
        "read_at": _l("Read at"),
    }
    column_default_sort = ("created_at", True)
    column_sortable_list = ("created_at",)
    # The home page's "greetings due" opens the unread greetings (one reader's inbox: the
    # (recipient_id, read_at, created_at) index bounds it).
    column_filters = (
        FilterEqual(Notification.kind, _l("Kind"), options=lambda: list(KIND_LABELS.items())),
        FilterEmpty(Notification.read_at, _l("Read at")),
    )
    column_formatters = {
        "title": _title,
        "created_at": lambda v, c, m, p: format_local(m.created_at),
        "read_at": lambda v, c, m, p: format_local(m.read_at),
    }

    @expose("/open/<int:id>")
    def open(self, id):
        """Open a notice: mark it read (the bell counts one fewer), then go where it leads
        (the inbox when it leads nowhere). Another user's notice is not found (scope)."""
        note = select_one(Notification, id)
        if note is None or note.recipient_id != current_actor().id:
            abort(404)
        perform(lambda: mark_read(db.session, current_actor(), [note.id]))
        target = target_path(note.link_endpoint, note.link_id, note.link)
        return redirect(target or url_for(".index_view"))

    @action("mark_read", _l("Mark as read"))
    def action_mark_read(self, ids):
        perform(lambda: mark_read(db.session, current_actor(), id_list(ids)), _("Marked as read."))


# --- the channels: group robots, undelivered messages, each person's preferences ---------------
PLATFORMS = [
    ("wecom", _l("WeCom (企业微信) group robot")),
    ("dingtalk", _l("DingTalk (钉钉) group robot")),
]
STATUS_LABELS = {
    "pending": _l("Waiting for a retry"),
    "sending": _l("Sending"),
    "sent": _l("Sent"),
    "failed": _l("Failed"),
    "unknown": _l("Unknown: the worker stopped while sending"),
}


class RobotView(ScopedModelView):
    """The group robots and the kinds each takes: managers and the administrator set them up.
    The webhook URL and DingTalk's secret are write-only here and stored encrypted."""

    area = "notice_robots"
    can_delete = can_export = False
    column_list = ("name", "platform", "kinds", "active", "created_at")
    column_labels = {
        "name": lazy_pgettext("thing", "Name"),
        "platform": _l("Platform"),
        "kinds": _l("Notice kinds"),
        "active": _l("Enabled"),
        "created_at": _l("Created at"),
        "webhook_url": _l("Webhook URL"),
        "secret": _l("Signing secret (DingTalk)"),
        "kind_choice": _l("Notice kinds"),
    }
    column_formatters = {
        "platform": lambda v, c, m, p: dict(PLATFORMS).get(m.platform, m.platform),
        "kinds": lambda v, c, m, p: "、".join(notices.kind_label(k) for k in m.kinds or ()),
        "created_at": lambda v, c, m, p: format_local(m.created_at),
    }
    column_details_list = ("name", "platform", "kinds", "active", "created_at")
    form_columns = ("name", "platform", "webhook_url", "secret", "kind_choice", "active")
    form_choices = {"platform": PLATFORMS}
    form_extra_fields = {
        "webhook_url": StringField(
            _l("Webhook URL"),
            validators=[Optional()],
            description=_l("Left empty, the stored URL stays."),
        ),
        "secret": StringField(
            _l("Signing secret (DingTalk)"),
            validators=[Optional()],
            description=_l("Left empty, the stored secret stays."),
        ),
        "kind_choice": SelectMultipleField(_l("Notice kinds"), choices=[]),
    }
    extra_form_fields = ("webhook_url", "secret", "kind_choice")

    def adjust_form(self, form) -> None:
        form.kind_choice.choices = [(k, notices.kind_label(k)) for k in notices.notice_kinds()]

    def on_form_prefill(self, form, id):
        row = select_robot(id)
        if row is not None:
            form.kind_choice.data = list(row.kinds or ())

    def field_errors(self, form) -> dict:
        url = (form.webhook_url.data or "").strip()
        if url and not url.startswith(("https://", "http://")):
            return {"webhook_url": _l("A webhook URL starts with https://.")}
        if not url and request.endpoint and request.endpoint.endswith("create_view"):
            return {"webhook_url": _l("A new robot needs its webhook URL.")}
        return {}

    def _fill(self, form, model) -> None:
        if form.webhook_url.data:
            model.webhook_token = encrypt(form.webhook_url.data.strip())
        if form.secret.data:
            model.secret_token = encrypt(form.secret.data.strip())
        model.kinds = list(form.kind_choice.data or ())

    def create_record(self, form, model) -> None:
        self._fill(form, model)
        db.session.add(model)

    def update_record(self, form, model) -> None:
        self._fill(form, model)
        db.session.flush()


def select_robot(pk):
    return select_one(NoticeRobot, pk)


class UndeliveredView(ScopedModelView):
    """What the outbox could not deliver (failed after the last try, or unknown after a dead
    worker), newest first, with the error and a retry action: nothing is lost in silence."""

    screen = "undelivered"
    can_create = can_edit = can_delete = can_export = False
    column_default_sort = ("id", True)
    column_filters = ("status",)

    def get_query(self):
        return super().get_query().filter(self.model.status != "sent")

    def get_count_query(self):
        return super().get_count_query().filter(self.model.status != "sent")

    @action("retry", _l("Retry"), _l("Send the selected messages again?"))
    def action_retry(self, ids):
        ok, count = perform(lambda: delivery.retry(db.session, self.model, id_list(ids)))
        if ok:
            flash(_("%(n)d message(s) will be sent again.", n=count), "success")


_OUTBOX_LABELS = {
    "created_at": _l("Time"),
    "status": _l("Status"),
    "attempts": _l("Tries"),
    "last_error": _l("Last error"),
    "next_attempt_at": _l("Next try"),
    "to_address": _l("To"),
    "subject": _l("Subject"),
    "robot": _l("Group robot"),
    "title": _l("Subject"),
    "items": _l("Notices"),
}
_OUTBOX_FORMATS = {
    "created_at": lambda v, c, m, p: format_local(m.created_at),
    "next_attempt_at": lambda v, c, m, p: format_local(m.next_attempt_at),
    "status": lambda v, c, m, p: STATUS_LABELS.get(m.status, m.status),
}


class UndeliveredMailView(UndeliveredView):
    column_list = (
        "created_at",
        "to_address",
        "subject",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
    )
    column_labels = _OUTBOX_LABELS
    column_formatters = _OUTBOX_FORMATS


class UndeliveredRobotView(UndeliveredView):
    column_list = (
        "created_at",
        "robot",
        "title",
        "items",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
    )
    column_labels = _OUTBOX_LABELS
    column_formatters = _OUTBOX_FORMATS


class PreferencesView(RoleView):
    """Each person's own choice per kind of notice: inbox only, mail, or the daily digest."""

    screen = "notice_preferences"

    @expose("/", methods=("GET", "POST"))
    def index(self):
        user = current_actor()
        if request.method == "POST":
            choices = {
                k: request.form.get(f"mode-{k}", notices.MAIL) for k in notices.notice_kinds()
            }
            ok, _n = perform(
                lambda: notices.set_preferences(db.session, user, choices),
                _("Your notice settings were saved."),
            )
            if ok:
                return redirect(url_for(".index"))
        from crm.settings import get_setting

        return self.render(
            "admin/crm/notice_preferences.html",
            kinds=[
                (k, notices.kind_label(k), mode)
                for k, mode in notices.my_preferences(db.session, user).items()
            ],
            modes=notices.MODES,
            hour=get_setting("notice_digest_hour"),
            has_email=bool(user.email),
        )
