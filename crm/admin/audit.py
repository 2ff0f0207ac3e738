"""The audit trail: searchable by managers, never editable from the app."""

from flask_admin.contrib.sqla.filters import DateBetweenFilter, FilterEqual, IntEqualFilter
from flask_babel import lazy_gettext as _l

from crm.admin.base import ScopedModelView, select_one, staff_value, who
from crm.admin.clients import changes_formatter, entity_label
from crm.audit import AuditEvent
from crm.clients.models import Client
from crm.timeutil import format_local

ACTION_LABELS = {
    "create": _l("Created"),
    "update": _l("Changed"),
    "delete": _l("Deleted"),
    "restore": _l("Restored"),
    "destroy": _l("Destroyed"),
    "view_sensitive": _l("Viewed in full"),
    "login": _l("Signed in"),
    "login_failed": _l("Failed sign-in"),
    "login_locked": _l("Sign-in refused: too many failures from this address"),
    "logout": _l("Signed out (every session ended)"),
    "login_disabled": _l("Sign-in refused: account disabled"),
    "read_file": _l("Read an archived file"),
    "close": _l("Closed"),
    "read_under_grant": _l("Read under a view grant"),
    "rotate_field_key": _l("Re-encrypted with the newest key"),
    "detach": _l("Kept past its customer under retention"),
    "dispose": _l("Disposed of (retention ended)"),
}


def _customer(client_id) -> str:
    """The customer an event concerns, by name when the reader may see it (else its number)."""
    if client_id is None:
        return ""
    row = select_one(Client, client_id)
    return staff_value(row) if row is not None else f"#{client_id}"


class AuditView(ScopedModelView):
    screen = "audit"
    can_create = can_edit = can_delete = False
    can_export = True
    column_list = (
        "at",
        "actor_label",
        "action",
        "entity",
        "entity_id",
        "client_id",
        "changes",
        "reason",
    )
    column_labels = {
        "at": _l("Time"),
        "actor_label": _l("Who"),
        "action": _l("Action"),
        "entity": _l("Record type"),
        "entity_id": _l("Record ID"),
        "client_id": _l("Customer"),
        "changes": _l("Changes"),
        "reason": _l("Reason"),
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
    column_formatters_export = {
        "at": lambda v, c, m, p: format_local(m.at),
        "action": lambda v, c, m, p: str(ACTION_LABELS.get(m.action, m.action)),
        "entity": lambda v, c, m, p: entity_label(m.entity),
        "client_id": lambda v, c, m, p: _customer(m.client_id),
        "actor_label": lambda v, c, m, p: who(m),
    }
    column_formatters = {**column_formatters_export, "changes": changes_formatter}
