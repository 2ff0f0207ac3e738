"""The audit trail: searchable by managers, never editable from the app."""

from flask_admin.contrib.sqla.filters import DateBetweenFilter, FilterEqual, IntEqualFilter
from flask_babel import lazy_gettext as _l

from crm import access
from crm.admin.base import ScopedModelView
from crm.governance.models import AuditEvent
from crm.timeutil import format_local


class AuditView(ScopedModelView):
    roles = frozenset(access.MANAGERS)
    can_create = can_edit = can_delete = False
    can_export = True
    column_list = ("at", "actor_label", "action", "entity", "entity_id", "client_id", "changes",
                   "reason")
    column_labels = {
        "at": _l("Time"), "actor_label": _l("Who"), "action": _l("Action"),
        "entity": _l("Record type"), "entity_id": _l("Record ID"), "client_id": _l("Customer"),
        "changes": _l("Changes"), "reason": _l("Reason"),
    }
    column_default_sort = ("at", True)
    column_sortable_list = ("at",)
    column_searchable_list = ("actor_label", "reason")
    column_filters = (
        FilterEqual(AuditEvent.action, _l("Action")),
        # Integer filters: a plain FilterEqual compares the id as text, which PostgreSQL refuses.
        IntEqualFilter(AuditEvent.client_id, _l("Customer")),
        IntEqualFilter(AuditEvent.actor_id, _l("Who")),
        DateBetweenFilter(AuditEvent.at, _l("Time")),
    )
    column_formatters = {"at": lambda v, c, m, p: format_local(m.at)}
