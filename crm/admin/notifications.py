"""My notifications (我的通知): each user sees only their own inbox (crm.access 'recipient')."""

from flask import flash
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from crm import access
from crm.access import current_actor
from crm.admin.base import ScopedModelView
from crm.bounds import id_list
from crm.extensions import db
from crm.notifications.services import mark_read
from crm.timeutil import format_local


def _title(view, context, model, name):
    text = escape(model.title)
    return Markup(f'<a href="{escape(model.link)}">{text}</a>') if model.link else text


class InboxView(ScopedModelView):
    roles = frozenset(access.ROLES)
    can_create = can_edit = can_delete = can_export = False
    column_list = ("created_at", "title", "body", "read_at")
    column_labels = {"created_at": _l("Time"), "title": _l("Subject"), "body": _l("Message"),
                     "read_at": _l("Read at")}
    column_default_sort = ("created_at", True)
    column_sortable_list = ("created_at",)
    column_formatters = {
        "title": _title,
        "created_at": lambda v, c, m, p: format_local(m.created_at),
        "read_at": lambda v, c, m, p: format_local(m.read_at),
    }

    @action("mark_read", _l("Mark as read"))
    def action_mark_read(self, ids):
        mark_read(db.session, current_actor(), id_list(ids))
        db.session.commit()
        flash(_("Marked as read."), "success")
